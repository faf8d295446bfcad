"""A page's file upload, checked before a byte of the file is read: the form token (a plain
form is checked at once, a multipart one once its fields have arrived), the sign-in, and the
declared size."""

from schoolbase.problems import Problem
from schoolbase.resources.uploads import FORM_OVERHEAD_BYTES, too_large
from schoolbase.web import csrf
from schoolbase.web.deps import AnyonePage, check_signed_in
from schoolbase.web.forms import PageUpload


async def page_upload(page: AnyonePage, limit: int, sign_in_back: str) -> PageUpload | Problem:
    """The upload's fields read and its file waiting to stream; a refusal the page shows
    (too large, not a form) is returned. A missing form token or sign-in raises."""
    request = page.request
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        await csrf.checked_form(request, page.settings)  # 403 without the token
    check_signed_in(page, sign_in_back)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD_BYTES:
        return too_large(limit)
    try:
        form = PageUpload(kind, request.stream())
        await form.read_fields()
    except Problem as problem:
        return problem
    csrf.check_token(request, page.settings, dict(form.fields).get(csrf.FIELD))
    return form
