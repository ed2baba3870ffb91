"""Keeping a task's result files on our side (seed 002's `onResultFetched`): upstreams delete
outputs after a while (Replicate after about an hour), so a channel with `result_storage` set has
every file of a successful result copied to our own storage when the result is first fetched, and
the result rewritten to point there."""
