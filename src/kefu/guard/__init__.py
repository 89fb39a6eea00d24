"""Guard: PII masking, prompt-injection defence and output checks (grounded claims, language, no PII leaks).

The turn pipeline calls the guard on the way in (mask PII, detect injection) and on the way out (check a
generated reply before the customer sees it). It never imports kefu.knowledge: the pipeline hands it the
query vector and the sources.
"""
