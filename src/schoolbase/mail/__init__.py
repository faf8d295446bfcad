"""Mail: an outbox written in the transaction that causes a message, rendered from the
templates here and delivered over SMTP by a job.

For other packages: ``service.queue`` (in your transaction) and then ``jobs.kick`` (after
it commits). See ``jobs`` for how delivery works and ``sender`` for ``smtp_url``.
"""
