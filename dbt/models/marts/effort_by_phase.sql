-- Customer effort per journey phase and month: what surveys say (CES) next to what contacts show.
{{ effort_rollup(ref('contact_episodes'), ref('interactions')) }}
