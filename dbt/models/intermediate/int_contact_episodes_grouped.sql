-- Contacts rolled up into episodes: how many contacts, switches and transfers it took, and whether
-- and how fast it was resolved.
with contacts as (
    select * from {{ ref('int_contacts_sequenced') }}
),

grouped as (
    select
        episode_id,
        any_value(customer_id) as customer_id,
        any_value(reason_code) as reason_code,
        any_value(reason_dimension) as reason_dimension,
        arg_min(journey_phase, occurred_at) as journey_phase,
        arg_min(touchpoint, occurred_at) as first_touchpoint,
        min(occurred_at) as started_at,
        max(occurred_at) as last_contact_at,
        count(*)::bigint as contacts,
        count_if(is_repeat_contact and touchpoint <> previous_touchpoint)::bigint as channel_switches,
        sum(transfers)::bigint as transfers,
        bool_or(outcome = 'escalated') as was_escalated,
        arg_max(outcome, occurred_at) as last_outcome,
        bool_or(is_self_service_failure) as had_self_service_failure,
        -- a contact's end is known only with its handle time (a ticket's: its resolution time); when the
        -- episode's last contact has none, how long the episode took is unknown, not zero
        max(occurred_at + to_seconds(coalesce(wait_seconds, 0) + handle_seconds)) as last_contact_ended_at,
        arg_max(handle_seconds is null, occurred_at) as last_end_unknown
    from contacts
    group by episode_id
),

final as (
    select
        *,
        last_outcome = 'resolved' as is_resolved,
        contacts = 1 and last_outcome = 'resolved' and transfers = 0 and not was_escalated as is_first_contact_resolution,
        case when last_outcome = 'resolved' and not last_end_unknown
                then round(epoch(last_contact_ended_at - started_at) / 3600.0, 2)
        end as hours_to_resolution
    from grouped
)

select * exclude (last_end_unknown) from final
