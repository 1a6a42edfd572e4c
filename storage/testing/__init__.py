"""Shipped for people who write a store backend: the conformance suite and network helpers.

* `storage.testing.conformance.StoreConformance`: subclass it in a test module and override its
  `store_factory` (or `store`) fixture to hold a backend to the behaviour every adapter shares.
* `storage.testing.net`: `free_port()` and `wait_healthy()` for servers started on 127.0.0.1.

pytest is imported only by `storage.testing.conformance`, so the library never needs it at run time.
"""
