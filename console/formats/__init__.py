"""Date formats of the console (``FORMAT_MODULE_PATH``): one compact, sortable form in every
language, ``2026-12-07 03:25``, as the console pages and exports write times. Django's own
("Dec. 7, 2026, 3:25 a.m.", "2026年12月7日 03:25") made every list with a date wider than a
1366-pixel screen. Input formats stay Django's.
"""
