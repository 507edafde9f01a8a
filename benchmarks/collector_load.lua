-- wrk script for benchmarks/collector_load.py: Segment /v1/batch bodies of track calls with unique
-- messageIds, each connection pausing between requests so the total rate is the one asked for.
-- wrk -s collector_load.lua URL -- <basic auth> <calls per batch> <pause ms>
local counter = 0

function setup(thread)
    thread:set("prefix", string.format("%08x", math.random(0, 0x7fffffff)))
end

function init(args)
    wrk.headers["Authorization"] = "Basic " .. args[1]
    wrk.headers["Content-Type"] = "application/json"
    calls_per_batch = tonumber(args[2])
    pause = tonumber(args[3])
end

function delay()
    return pause
end

function request()
    local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
    local calls = {}
    for i = 1, calls_per_batch do
        counter = counter + 1
        calls[i] = string.format(
            '{"type":"track","messageId":"%s-%d","userId":"C%07d","event":"Order Completed","properties":{"value":%d},"timestamp":"%s"}',
            prefix, counter, math.random(0, 19999), math.random(1, 500), now)
    end
    return wrk.format("POST", "/v1/batch", nil, '{"batch":[' .. table.concat(calls, ",") .. ']}')
end
