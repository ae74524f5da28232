"""PDF reader: characters and ruling lines -> `Document` rows and prose lines.

Characters and rulings come from pdfium (fast, the default; `pdfium_engine`) or
pdfplumber/pdfminer (`plumber_engine`; `engine=` or XXGK_PDF_ENGINE); both feed the same
logic and the tests hold them to the same rows. A damaged file (compressed streams that do
not decompress) is read with pdfminer, which recovers more, and flagged; a page where
pdfium's text is unusable (glyphs it could not map in a table cell, or a repaired file with
cells left empty) is read by pdfminer too, and a disagreement is reported (`reader`).

Tables are rebuilt from the ruled grid, not from a cell finder: real reports leave
borders out (a cell with no top border would lose its text), draw white boxes behind
every prose line (seen as one-column "tables"), and break headers into one character
per line. So:

1. ruling segments come from lines, thin filled rects, stroked rects and straight path
   pieces (white, transparent or unstroked boxes are ignored: they are invisible);
2. segments that touch form a table; its x and y positions cut it into grid boxes (double
   rules are one border), and neighbouring boxes are one cell unless a ruling separates
   them (`rulings`);
3. every character inside the grid lands in exactly one cell, so no text is lost; a
   number that crosses a border is kept whole and reported; slanted text (watermarks,
   seal rings) and overprinted (fake bold) copies are left out (`lines`, `ruled`);
4. one row per grid row: a cell spanning columns appears once, a label spanning rows once
   where it starts, a number spanning rows leaves empty cells below (as the HTML reader
   treats colspan/rowspan), so values are never copied; numbers stacked in one cell stay
   apart ("4 1", which the mapper reports) unless a long number wrapped (`ruled`);
5. parts of a table split over pages are stitched (running heads/feet and repeated
   headers dropped, a row broken by the page joined) when nothing else lies between
   (`pages`).

Tables printed without rulings (or ruled in one direction only) are read from word
positions (`borderless`): a line ending in numbers that stand clear of its label is a row
(`row_is_real=False`), label cells cut at wide gaps, wrapped label lines joined back to
their column (to the row the label started in when it spans rows, and over a page
break), a label above numbers centred in their row taken as theirs.

Title, agency and year are left to `parsers.metadata`, which reads them from the first
lines as for every format.
"""

from xxgk.parsers.pdf.lines import _clean_chars
from xxgk.parsers.pdf.reader import ENGINES, read
from xxgk.parsers.pdf.ruled import without_label_padding

__all__ = ["ENGINES", "read", "without_label_padding", "_clean_chars"]
