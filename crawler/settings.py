"""Scrapy settings for hypewatch's crawls.

The defaults below are polite and bounded; `crawler.runner` overrides the HYPEWATCH_* values
(and the user agent, timeouts and size cap) per crawl from the application's `Settings`, so this
module never reads the environment.

hypewatch's own settings:

HYPEWATCH_SOURCE            the source being crawled (a `SourceConfig.to_dict()`); set per crawl.
HYPEWATCH_DATABASE_URL      where pages, versions and predictions are stored.
HYPEWATCH_MODEL_DIR         the model registry directory.
HYPEWATCH_MODEL_VERSION     the model version that scores every page (default: the registry's current one).
HYPEWATCH_MAX_PAGES         page budget of this crawl (the source's max_pages, or --max-pages).
HYPEWATCH_EXTRACTION_PROCESSES  processes extracting and scoring pages (0: one per CPU).
HYPEWATCH_EXTRACTION_TIMEOUT    seconds one page's extraction (or scoring) may take before it is given up.
HYPEWATCH_MIN_ARTICLE_WORDS extracted texts shorter than this are not articles ("not-article:too-short").
HYPEWATCH_MAX_LINK_RATIO    texts made more than this share of the page's link texts are index pages
                            ("not-article:link-list").
HYPEWATCH_STORE_OFF_TOPIC   store pages the relevance gate rejects too (benchmarks); default False.
HYPEWATCH_BATCH_SIZE        documents per storage transaction.
HYPEWATCH_BATCH_SECONDS     a partial batch is committed once it is this old.
HYPEWATCH_RETRY_BACKOFF     first retry waits this many seconds; each further retry doubles it.
HYPEWATCH_RETRY_BACKOFF_MAX longest wait before a retry (also caps a server's Retry-After, and how
                            long a 429/503 with Retry-After slows its whole site down).
HYPEWATCH_PROGRESS_INTERVAL seconds between progress lines on stdout (0: none).

A shared crawl (several processes on one run, see crawler.shared_run and crawler.frontier) is set by these; with
HYPEWATCH_REDIS_URL empty the crawl is a plain single-process one:

HYPEWATCH_REDIS_URL         the Redis server holding the shared frontier.
HYPEWATCH_REDIS_PREFIX      prefix of every Redis key hypewatch uses.
HYPEWATCH_RUN_ID            the crawl run this process works on.
HYPEWATCH_CRAWL_PROCESS_ID  this crawl process's name among the run's crawl processes (unique).
HYPEWATCH_CRAWL_HEARTBEAT   seconds after its last heartbeat that a crawl process counts as lost and
                            the requests it had taken are queued again.
"""

BOT_NAME = "hypewatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Politeness: obey robots.txt (its Crawl-delay too), identify ourselves, at most two requests per
# site at once, let AutoThrottle slow down further when a site answers slowly, and slow a whole
# site down when it answers 429/503 with a Retry-After (crawler.politeness).
ROBOTSTXT_OBEY = True
USER_AGENT = "hypewatch/0.1 (health-misinformation monitor)"  # replaced by Settings.user_agent
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
COOKIES_ENABLED = False
# No way into a running crawl: neither the telnet console nor Scrapy 2.19's remote-control HTTP
# server (it runs Python code sent to it, and writes its token to a file in the user's profile).
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Bounds: size cap, timeouts, retries (with backoff, see BackoffRetryMiddleware), redirects.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
DOWNLOAD_TIMEOUT = 20
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
REDIRECT_MAX_TIMES = 10
DEPTH_LIMIT = 0  # depth is enforced by the spiders, which also schedule links themselves
# Responses waiting for their pipelines (extraction is the slow part) hold at most this many bytes:
# beyond it the downloader waits, rather than the crawl process holding pages it cannot process yet.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 5_000_000
# What one response's callback yields is processed this many at a time: a page yields one item,
# a sitemap or feed its requests. Scrapy's 100 starts 100 asyncio tasks for every response.
CONCURRENT_ITEMS = 4
LOG_LEVEL = "INFO"
DEFAULT_DROPITEM_LOG_LEVEL = "DEBUG"  # drops are counted by reason, not logged one by one

# The connection's own DNS answer is checked as NetGuardMiddleware checks the request's (DNS rebinding).
TWISTED_DNS_RESOLVER = "crawler.resolver.GuardedResolver"

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.SessionIdMiddleware": 50,  # before the budget: a session-id URL is never counted
    "crawler.middlewares.NetGuardMiddleware": 60,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsTxtMiddleware": 100,  # Scrapy's, checking every request that waited for robots.txt
    "crawler.middlewares.PageBudgetMiddleware": 110,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
}

ITEM_PIPELINES = {
    "crawler.pipelines.CanonicalUrlPipeline": 100,
    "crawler.pipelines.DuplicateUrlPipeline": 200,
    "crawler.pipelines.ExtractionPipeline": 300,
    "crawler.pipelines.DuplicateContentPipeline": 400,
    "crawler.pipelines.ScoringPipeline": 500,
    "crawler.pipelines.StoragePipeline": 600,
}

EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.politeness.PoliteAutoThrottle": 0,  # AutoThrottle, keeping each site's robots.txt Crawl-delay
    "crawler.extensions.RunStats": 100,
    "crawler.extensions.ProgressReporter": 200,
    "crawler.workers.ExtractionProcesses": 300,  # the extraction processes the pipelines share
}

HYPEWATCH_SOURCE: dict = {}
HYPEWATCH_DATABASE_URL = ""
HYPEWATCH_MODEL_DIR = ""
HYPEWATCH_MAX_PAGES = 500
HYPEWATCH_MODEL_VERSION = ""
HYPEWATCH_EXTRACTION_PROCESSES = 0
HYPEWATCH_EXTRACTION_TIMEOUT = 60.0
HYPEWATCH_MIN_ARTICLE_WORDS = 50
HYPEWATCH_MAX_LINK_RATIO = 0.5
HYPEWATCH_STORE_OFF_TOPIC = False
HYPEWATCH_BATCH_SIZE = 50
HYPEWATCH_BATCH_SECONDS = 5.0
HYPEWATCH_RETRY_BACKOFF = 1.0
HYPEWATCH_RETRY_BACKOFF_MAX = 30.0
HYPEWATCH_PROGRESS_INTERVAL = 0.5
HYPEWATCH_REDIS_URL = ""
HYPEWATCH_REDIS_PREFIX = "hypewatch"
HYPEWATCH_RUN_ID = 0
HYPEWATCH_CRAWL_PROCESS_ID = ""
HYPEWATCH_CRAWL_HEARTBEAT = 30.0
