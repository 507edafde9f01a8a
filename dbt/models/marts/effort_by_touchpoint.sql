-- Customer effort per journey phase, month and touchpoint: which channel makes each phase hard.
{{ effort_rollup(ref('contact_episodes'), ref('interactions'), by_touchpoint=true) }}
