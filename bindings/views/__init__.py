"""Console pages of bindings, like billing's: ``ConsolePage`` views, django-tables2 tables and
django-filter FilterSets, inside the admin's frame.

* :mod:`bindings.views.bindings`: the bindings list, a binding's page and what is done from it
  (create per mode, end, check with the platform, reveal, temporary callee, change);
* :mod:`bindings.views.numbers`: the X-number list and its actions, pool usage;
* :mod:`bindings.views.jobs`: the long operations and their progress (bulk upload, X-number
  import, reconciliation), and the JSON their pages poll.

Every page requires its permission (anonymous visitors go to the sign-in page, signed-in users
without it get 403); views parse, call one service and answer.
"""
