"""crawler.spiders.base: the names of request failures that the run's error counts show."""

from __future__ import annotations

import gzip

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest, ResponseDataLossError
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.spiders.base import error_kind
from crawler.vocabulary import CONNECTION_FAILED, TOO_LARGE


def test_a_compression_bomb_refused_by_scrapy_counts_as_too_large():
    crawler = get_crawler(settings_dict={"DOWNLOAD_MAXSIZE": 1 << 20})
    middleware = HttpCompressionMiddleware.from_crawler(crawler)
    request = Request("http://example.org/bomb")
    bomb = gzip.compress(b"\0" * (8 << 20))
    response = Response(request.url, body=bomb, headers={"Content-Encoding": "gzip"}, request=request)
    with pytest.raises(IgnoreRequest) as refused:
        middleware.process_response(request, response)
    assert error_kind(Failure(refused.value)) == TOO_LARGE


def test_a_body_cut_short_counts_as_a_connection_failure():
    lost = ResponseDataLossError("Received 1000 bytes of 10000 expected")
    assert error_kind(Failure(lost)) == CONNECTION_FAILED
