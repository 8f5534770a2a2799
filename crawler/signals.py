"""hypewatch's own Scrapy signals, sent with `crawler.signals.send_catch_log(signal=..., ...)`.

A shared crawl (`crawler.frontier`) acknowledges a request it took from the shared queue only
once everything the request led to is safe; these signals tell it when that happens.
"""

# The spider's errback ran for `request`: the request led to nothing further.
request_failed = object()

# StoragePipeline finished writing a batch: its `items` are in the database (or failed for good).
batch_stored = object()
