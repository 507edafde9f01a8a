-- Customer effort per journey phase, month and touchpoint: which channel makes each phase hard.
{{ effort_rollup(ref('contact_episodes'), ref('stg_cx__interactions'), by_touchpoint=true) }}
