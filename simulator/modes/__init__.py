"""The platform's rules, mode by mode, over one shared pool.

``pool.py`` keeps what every mode shares (applications, X numbers, the binding store, choosing X,
expiry); ``rules.py`` says what a mode's rules provide; ``axb.py``, ``ax.py``, ``axe.py``,
``axyb.py`` and ``x.py`` are the rules of each mode of the table :mod:`privatenumber.modes`.
:mod:`simulator.platform` puts them together.
"""
