"""Parse speed and memory: the corpus repeated to N documents, one core.

    python benchmarks/parse.py            # N = 2000, 3 runs each, medians
    python benchmarks/parse.py --n 5000

Prints reports per second for HTML pages and for pipe text (the seed text plus pipe
renderings of the corpus pages), the same for a plain BeautifulSoup + html.parser read
of the same pages' tables (the baseline), and peak RSS at growing counts, each count in
a fresh process, so that flat memory shows as flat figures.

Pages at real size: report pages as portals serve them weigh 100-370 KB (menus, link
lists, inline styles, scripts). `portal` grows the corpus report pages with such chrome
to 120, 250 and 370 KB (their cells unchanged, checked before timing) and parses them;
`floor` is the least any reader must do with the same pages: decode, lexbor parse, and
the text of every table cell.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "fixtures" / "corpus"


PORTAL_SIZES = (120_000, 250_000, 370_000)
REPORT_PAGES = ("pingtan-2023.html", "pingtan-2020.html", "pingtan-2018.html")


_NAV = ["首页", "政务公开", "政府信息公开", "信息公开指南", "信息公开制度", "法定主动公开内容",
        "政府信息公开年报", "依申请公开", "政务服务", "互动交流", "走进平潭", "专题专栏",
        "政策文件", "政策解读", "人事信息", "财政预决算", "重点领域", "建议提案办理", "网站地图"]
_WORDS = ["关于", "印发", "做好", "工作", "通知", "实施方案", "管理办法", "年度", "公示", "公告",
          "平潭", "综合实验区", "管委会", "办公室", "推进", "项目", "建设", "招聘", "结果", "名单"]


def chrome(page: bytes, size: int, seed: int = 0) -> bytes:
    """`page` with menus, link lists, inline styles and scripts added around its article
    until it weighs about `size` bytes; the article itself is untouched."""
    rng = random.Random(seed)
    text = page.decode("utf-8")
    head_end = text.index("</head>")
    body = text.index(">", text.index("<body")) + 1
    end = text.rindex("</body>")
    need = size - len(page)
    parts_top, parts_bottom, styles = [], [], []
    grown = 0
    k = 0
    while grown < need:
        k += 1
        kind = k % 4
        if kind == 0:
            block = _menu(rng, k)
        elif kind == 1:
            block = _link_list(rng, k)
        elif kind == 2:
            block = _script(rng, k)
        else:
            block = _style(rng, k)
        if grown + len(block.encode()) > need:
            break
        {0: parts_top, 1: parts_bottom, 2: parts_bottom, 3: styles}[kind].append(block)
        grown += len(block.encode())
    return (text[:head_end] + "".join(styles) + text[head_end:body] + "".join(parts_top)
            + text[body:end] + "".join(parts_bottom) + text[end:]).encode("utf-8")


def _style_attr(rng) -> str:
    return (f'style="margin:{rng.randint(0, 20)}px {rng.randint(0, 20)}px;'
            f'padding:{rng.randint(0, 9)}px;font-size:{rng.randint(12, 18)}px;'
            f'color:#{rng.randint(0, 0xffffff):06x};line-height:{rng.randint(18, 30)}px"')


def _title(rng) -> str:
    return "".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 9)))


def _menu(rng, k) -> str:
    items = "".join(
        f'<li class="nav-item nav-{i}" {_style_attr(rng)}><a href="/col/col{k}{i}/index.html" '
        f'target="_blank" title="{name}" {_style_attr(rng)}><span class="nav-text">{name}</span>'
        f'</a><ul class="sub-nav" style="display:none">'
        + "".join(f'<li><a href="/col/col{k}{i}{j}/">{_title(rng)}</a></li>' for j in range(4))
        + "</ul></li>"
        for i, name in enumerate(_NAV))
    return f'<div class="header-nav" id="nav{k}" {_style_attr(rng)}><ul class="nav">{items}</ul></div>'


def _link_list(rng, k) -> str:
    items = "".join(
        f'<li {_style_attr(rng)}><a href="./2023{rng.randint(1, 12):02d}/t2023{i:04d}_{k}.html" '
        f'title="{(t := _title(rng))}">{t}</a><span class="date">2023-{rng.randint(1, 12):02d}-'
        f'{rng.randint(1, 28):02d}</span></li>'
        for i in range(20))
    return (f'<div class="side-list" {_style_attr(rng)}><div class="side-title">相关信息</div>'
            f'<ul>{items}</ul></div>')


def _script(rng, k) -> str:
    lines = "".join(
        f"  var item{k}_{i} = document.getElementById('nav{i}');"
        f" if (item{k}_{i}) {{ item{k}_{i}.onclick = function () {{ window.location.href ="
        f" '/col/col{rng.randint(1000, 9999)}/index.html?uid={rng.randint(0, 10**8)}'; }}; }}\n"
        for i in range(25))
    return f'<script type="text/javascript">\n{lines}</script>'


def _style(rng, k) -> str:
    rules = "".join(
        f".c{k}-{i} {{ margin: {rng.randint(0, 20)}px; padding: {rng.randint(0, 9)}px; "
        f"background: url(/images/bg{i}.png) no-repeat; color: #{rng.randint(0, 0xffffff):06x}; }}\n"
        for i in range(30))
    return f"<style type=\"text/css\">\n{rules}</style>"


def portal_pages() -> list[tuple[str, bytes]]:
    """The report pages grown with chrome to each size they are not already past."""
    pages = []
    for name in REPORT_PAGES:
        page = (CORPUS / name).read_bytes()
        pages += [(name, chrome(page, size)) for size in PORTAL_SIZES if size > len(page)]
    return pages


def check_portal_pages() -> None:
    """The chrome must not change what is read: same cells, title, date and status."""
    from xxgk.parsers import parse_bytes

    def seen(report):
        return ([c.to_dict() for c in report.cells], report.status, report.title,
                report.published_date, report.agency, report.year)

    for name, page in portal_pages():
        original = parse_bytes((CORPUS / name).read_bytes(), name=name)
        assert seen(parse_bytes(page, name=name)) == seen(original), (name, len(page))


def floor(data: bytes) -> int:
    """The least a reader does: decode, lexbor parse, the text of every table cell."""
    from selectolax.lexbor import LexborHTMLParser

    from xxgk.parsers.decode import decode

    text, _ = decode(data)
    tree = LexborHTMLParser(text)
    return sum(len(td.text()) for td in tree.css("td, th"))


def inputs() -> dict[str, list[tuple[str, bytes]]]:
    from xxgk.parsers.dispatch import read_document
    from xxgk.parsers.render import render

    pages = [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.html"))]
    texts = [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.txt"))]
    texts += [(f"{name}.pipe.txt", render(read_document(data, name=name), "pipe").encode())
              for name, data in pages]
    return {"html": pages, "pipe": texts, "portal": portal_pages()}


def baseline(data: bytes) -> int:
    """What a researcher's script does today: every table cell's text, nothing mapped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data.decode("utf-8", "replace"), "html.parser")
    return sum(len(td.get_text(" ", strip=True)) for td in soup.find_all(["td", "th"]))


def run(kind: str, n: int) -> tuple[float, float]:
    """Wall and CPU seconds to read n documents of `kind` (html, pipe, baseline, portal,
    floor). CPU seconds are what a shared, busy machine does not blur."""
    from xxgk.parsers import parse_bytes

    docs = inputs()[{"pipe": "pipe", "portal": "portal", "floor": "portal"}.get(kind, "html")]

    def read(i: int) -> None:
        name, data = docs[i % len(docs)]
        if kind == "baseline":
            baseline(data)
        elif kind == "floor":
            floor(data)
        else:
            parse_bytes(data, name=name)

    # Each kind reads every document once untimed: what a first read imports (the readers,
    # the template mapper: ~40 ms) is paid once by a worker that then parses thousands of
    # pages, and was 7% of a 200-page portal run.
    for i in range(len(docs)):
        read(i)
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        read(i)
    return time.perf_counter() - start, time.process_time() - cpu


def child(kind: str, n: int) -> None:
    seconds, cpu = run(kind, n)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{seconds} {peak_mb} {cpu}")


def measure(kind: str, n: int) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds) of a fresh process reading n documents."""
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--n", str(n)],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    if args.child:
        child(args.child, args.n)
        return
    print(f"python {sys.version.split()[0]}, one core, {args.n} documents per run, "
          f"median of {args.runs} runs")
    check_portal_pages()
    rates, per_cpu = {}, {}
    for kind in ("html", "pipe", "baseline", "portal", "floor"):
        n = args.n if kind in ("html", "pipe") else max(200, args.n // 10)
        results = [measure(kind, n) for _ in range(args.runs)]
        rates[kind] = n / statistics.median(s for s, _, _ in results)
        per_cpu[kind] = n / statistics.median(c for _, _, c in results)
        print(f"  {kind:<9} {rates[kind]:8.0f} reports/s {per_cpu[kind]:8.0f} per CPU s   "
              f"peak RSS {statistics.median(m for _, m, _ in results):6.1f} MB")
    print(f"  html / baseline: {rates['html'] / rates['baseline']:.1f}x")
    sizes = sorted(len(d) // 1000 for _, d in portal_pages())
    print(f"  portal pages ({len(sizes)} pages, {sizes[0]}-{sizes[-1]} KB): parse / floor "
          f"{rates['portal'] / rates['floor']:.2f} (wall), "
          f"{per_cpu['portal'] / per_cpu['floor']:.2f} (CPU)")
    print("  memory as the count grows (peak RSS, MB):")
    for kind in ("html", "pipe", "portal"):
        peaks = [measure(kind, n)[1] for n in (args.n // 4, args.n, args.n * 2)]
        print(f"    {kind:<5} " + "  ".join(f"{n}: {m:.1f}" for n, m in
                                              zip((args.n // 4, args.n, args.n * 2), peaks, strict=True)))


if __name__ == "__main__":
    main()
