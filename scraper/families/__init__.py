"""Adapters of the CMS families beyond the first three (see scraper/adapters.py): one module
per family, each an `Adapter` subclass with a `fingerprint` that discovery uses.

    gkmlpt        Guangdong's 政府信息公开目录管理平台 (JSON list API)
    ucap_search   the `/common/search` JSON / `/es-search/search` fragment channel API
    anhui_public  the `/public/column/<organId>` catalogue filled from `/site/label/8888`
    hanweb_jpaas  Hanweb JPaaS columns and the `jpaas-publish-server` unit API
"""
