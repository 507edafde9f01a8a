-- Who owns what drives contacts: every root cause (reason) ranked by contacts, whether it is one of the
-- `top_root_causes`, and the actions logged against it: how many, open, overdue, finished, and owners.
-- The share of top root causes with an owner is avg(has_owner) over the rows where is_top.
with causes as (
    select
        reason_code as root_cause,
        sum(contacts)::bigint as contacts
    from {{ ref('root_causes') }}
    where reason_code <> 'unknown'
    group by reason_code
),

ranked as (
    select
        *,
        row_number() over (order by contacts desc, root_cause asc)::bigint as contact_rank
    from causes
),

actions as (
    select
        root_cause,
        count(*)::bigint as actions,
        count_if(is_open)::bigint as open_actions,
        count_if(is_overdue)::bigint as overdue_actions,
        count_if(status = 'done')::bigint as done_actions,
        count_if(verdict = 'worked')::bigint as actions_that_worked,
        string_agg(distinct owner, ', ' order by owner) filter (where status <> 'dropped') as owners
    from {{ ref('action_tracking') }}
    group by root_cause
)

select
    ranked.root_cause,
    ranked.contacts,
    ranked.contact_rank,
    ranked.contact_rank <= {{ var('top_root_causes') }} as is_top,
    coalesce(actions.actions, 0) as actions,
    coalesce(actions.open_actions, 0) as open_actions,
    coalesce(actions.overdue_actions, 0) as overdue_actions,
    coalesce(actions.done_actions, 0) as done_actions,
    coalesce(actions.actions_that_worked, 0) as actions_that_worked,
    actions.owners,
    actions.owners is not null as has_owner
from ranked
left join actions using (root_cause)
