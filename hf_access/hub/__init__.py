"""The Hugging Face Hub provider: the session (:mod:`.client`), its calls (:mod:`.wire`), errors,
converter, records, bulk runs, watch, access as code (:mod:`.sync`) and the inbox (:mod:`.inbox`).

It builds on :mod:`hf_access.core` only (see ARCHITECTURE.md)."""
