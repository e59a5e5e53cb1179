"""The outbox: mail never fails a web request, and none is lost.

Every mail the site writes (activation links, password resets, error
reports) goes through ``EMAIL_BACKEND`` = :class:`queue.QueueBackend` into
django-mailer's queue, a table in the site's database, inside the request's
own transaction: an account and its activation mail are committed together
or not at all. A sender outside the web workers (``ublog-ctl delivermail
--loop``, run by ublog-mailer.service, or by ``make run``) delivers it with
``MAILER_EMAIL_BACKEND`` (the ``[email]`` settings):

* :mod:`.sender`: the loop, which wakes every few seconds, releases the
  deferred mails that are due, and hands the queue to django-mailer's
  ``send_all`` (one row lock per mail, so several senders share a queue);
* :mod:`.retry`: what a failed attempt means: the next attempt after a
  growing delay, failed for good after ``max_attempts`` or on a permanent
  (5xx) refusal, and right away once a server that did not answer answers;
* :mod:`.delivery`: the delivery connection, and a probe of the server;
* :mod:`.outbox`: what waits and what failed, for ``ublog-ctl status``,
  ``ublog-ctl outbox`` and ``ublog-ctl check``.

django-mailer has no retry schedule of its own (its ``retry_deferred``
requeues everything at once), so the schedule is ublog's, kept in
:class:`ublog_site.models.MailRetry`.
"""
