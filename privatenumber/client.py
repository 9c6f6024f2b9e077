"""The client of the PrivateNumber platform (spec §5): one named method per interface.

``PrivateNumberClient`` is the :class:`~privatenumber.transport.Transport` (the one HTTP choke
point: one ``requests.Session``, pooled per process when given :func:`pooled_session`, one
``_request()``, one attempt, typed errors, a :class:`CallLog` for every call) with a method for
each interface of the mode table (:mod:`privatenumber.modes`). Each method only names its
interface and its arguments: where the interface is, what it sends and what it answers are the
table's. ``client.call(interface, …)`` reaches any interface of the table without a named method.
"""

from __future__ import annotations

from typing import Any

from privatenumber import modes
from privatenumber.schemas import (
    AxbBindRequest,
    AxbBindResponse,
    AxBindRequest,
    AxBindResponse,
    AxbModifyRequest,
    AxbQueryResponse,
    AxeBindingCountResponse,
    AxeBindRequest,
    AxeBindResponse,
    AxeModifyRequest,
    AxeQueryResponse,
    AxeQueryV2Response,
    AxModifyRequest,
    AxQueryResponse,
    AxTemporaryCalleeRequest,
    AxybBindAxRequest,
    AxybBindResponse,
    AxybBindYbRequest,
    AxybQueryResponse,
    ResultEnvelope,
)
from privatenumber.transport import DEFAULT_TIMEOUT, CallLog, Transport, pooled_session

__all__ = ["DEFAULT_TIMEOUT", "CallLog", "PrivateNumberClient", "pooled_session"]


class PrivateNumberClient(Transport):
    """Client of one PrivateNumber application (one APP_Key, one mode).

    Every method sends exactly one request. Bind/modify methods take either a ready request model
    or the keyword arguments that build it (snake_case names of the model); a request that does
    not fit its model raises :class:`~privatenumber.schemas.SchemaError` before anything is sent.
    """

    # -----------------------------------------------------------------------------------------
    # AXB (spec §5.1)
    # -----------------------------------------------------------------------------------------

    def axb_bind(self, request: AxbBindRequest | None = None, /, **fields: Any) -> AxbBindResponse:
        """Create an AXB binding; the answer's ``subscription_id`` must be stored."""
        return self.call(modes.AXB_BIND, request, **fields)

    def axb_modify(
        self, request: AxbModifyRequest | None = None, /, **fields: Any
    ) -> ResultEnvelope:
        """Change an AXB binding; absent fields stay as they are."""
        return self.call(modes.AXB_MODIFY, request, **fields)

    def axb_query(
        self,
        *,
        subscription_id: str | None = None,
        relation_num: str | None = None,
        caller_num: str | None = None,
        callee_num: str | None = None,
        page_index: int | None = None,
        page_size: int | None = None,
    ) -> AxbQueryResponse:
        """Find one AXB binding (by id, or X + A/B) or list the bindings on an X, page by page."""
        return self.call(
            modes.AXB_QUERY,
            subscription_id=subscription_id,
            relation_num=relation_num,
            caller_num=caller_num,
            callee_num=callee_num,
            page_index=page_index,
            page_size=page_size,
        )

    def axb_unbind(
        self, subscription_id: str | None = None, relation_num: str | None = None
    ) -> ResultEnvelope:
        """Remove one AXB binding, or with ``relation_num`` alone **every** binding on that X."""
        return self.call(
            modes.AXB_UNBIND, subscription_id=subscription_id, relation_num=relation_num
        )

    # -----------------------------------------------------------------------------------------
    # AX (spec §5.2)
    # -----------------------------------------------------------------------------------------

    def ax_bind(self, request: AxBindRequest | None = None, /, **fields: Any) -> AxBindResponse:
        """Create an AX binding: A owns X."""
        return self.call(modes.AX_BIND, request, **fields)

    def ax_modify(self, request: AxModifyRequest | None = None, /, **fields: Any) -> ResultEnvelope:
        """Change an AX binding (by subscription id or A + X)."""
        return self.call(modes.AX_MODIFY, request, **fields)

    def ax_query(
        self,
        subscription_id: str | None = None,
        orig_num: str | None = None,
        private_num: str | None = None,
    ) -> AxQueryResponse:
        """Find AX bindings by exactly one of: subscription id, A (all its X), X."""
        return self.call(
            modes.AX_QUERY,
            subscription_id=subscription_id,
            orig_num=orig_num,
            private_num=private_num,
        )

    def ax_unbind(
        self,
        subscription_id: str | None = None,
        private_num: str | None = None,
        orig_num: str | None = None,
    ) -> ResultEnvelope:
        """Remove an AX binding by subscription id or X (the platform ignores ``orig_num``)."""
        return self.call(
            modes.AX_UNBIND,
            subscription_id=subscription_id,
            private_num=private_num,
            orig_num=orig_num,
        )

    def ax_set_temporary_callee(
        self, request: AxTemporaryCalleeRequest | None = None, /, **fields: Any
    ) -> ResultEnvelope:
        """Set whom A reaches by dialling X, for ``duration`` seconds (default 60)."""
        return self.call(modes.AX_SET_TEMPORARY_CALLEE, request, **fields)

    # -----------------------------------------------------------------------------------------
    # AXE (spec §5.3, §5.4.5)
    # -----------------------------------------------------------------------------------------

    def axe_bind(self, request: AxeBindRequest | None = None, /, **fields: Any) -> AxeBindResponse:
        """Create an AXE binding: A gets extension E on X."""
        return self.call(modes.AXE_BIND, request, **fields)

    def axe_modify(
        self, request: AxeModifyRequest | None = None, /, **fields: Any
    ) -> ResultEnvelope:
        """Change an AXE binding; absent fields stay as they are."""
        return self.call(modes.AXE_MODIFY, request, **fields)

    def axe_query(
        self,
        subscription_id: str | None = None,
        virtual_num: str | None = None,
        extend_num: str | None = None,
    ) -> AxeQueryResponse:
        """Find one AXE binding (v1.0) by subscription id or X + extension."""
        return self.call(
            modes.AXE_QUERY,
            subscription_id=subscription_id,
            virtual_num=virtual_num,
            extend_num=extend_num,
        )

    def axe_query_v2(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        subscription_id: str | None = None,
        virtual_num: str | None = None,
        extend_num: str | None = None,
    ) -> AxeQueryV2Response:
        """List AXE bindings with a cursor (start at ``schemas.AXE_V2_FIRST_CURSOR``)."""
        return self.call(
            modes.AXE_QUERY_V2,
            cursor=cursor,
            limit=limit,
            subscription_id=subscription_id,
            virtual_num=virtual_num,
            extend_num=extend_num,
        )

    def axe_binding_count(
        self,
        number: str | None = None,
        *,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> AxeBindingCountResponse:
        """How many AXE bindings X numbers carry (QueryAXEBindingCount, spec §5.4.5).

        With ``number``: that X (a one-item list). Without: the application's numbers page by
        page, from ``schemas.AXE_COUNT_FIRST_CURSOR`` to an answer without ``next_cursor``.
        """
        return self.call(modes.AXE_BINDING_COUNT, number=number, cursor=cursor, limit=limit)

    def axe_unbind(
        self,
        subscription_id: str | None = None,
        virtual_num: str | None = None,
        extend_num: str | None = None,
    ) -> ResultEnvelope:
        """Remove an AXE binding by subscription id or X + extension."""
        return self.call(
            modes.AXE_UNBIND,
            subscription_id=subscription_id,
            virtual_num=virtual_num,
            extend_num=extend_num,
        )

    # -----------------------------------------------------------------------------------------
    # AXYB (spec §5.4): every URI carries app_key, which the table's interfaces add
    # -----------------------------------------------------------------------------------------

    def axyb_bind(
        self,
        request: AxybBindAxRequest | AxybBindYbRequest | None = None,
        /,
        **fields: Any,
    ) -> AxybBindResponse:
        """Bind AXYB in two steps: A–X first, then Y–B with the first answer's subscription id.

        Keyword arguments with ``subscription_id`` build the second step, without it the first;
        ``orig_num`` is A in the first step and B in the second. The platform chooses X and Y in
        ``area_code`` and answers the chosen number as ``relation_number``.
        """
        second = isinstance(request, AxybBindYbRequest) or (
            request is None and "subscription_id" in fields
        )
        return self.call(modes.AXYB_BIND_YB if second else modes.AXYB_BIND, request, **fields)

    def axyb_query(
        self, subscription_id: str | None = None, relation_num: str | None = None
    ) -> AxybQueryResponse:
        """Find AXYB bindings by subscription id or by the ``relation_number`` of the bind."""
        return self.call(
            modes.AXYB_QUERY, subscription_id=subscription_id, relation_num=relation_num
        )

    def axyb_unbind(
        self, subscription_id: str | None = None, relation_num: str | None = None
    ) -> ResultEnvelope:
        """Remove an AXYB binding."""
        return self.call(
            modes.AXYB_UNBIND, subscription_id=subscription_id, relation_num=relation_num
        )

    # -----------------------------------------------------------------------------------------
    # Stop call and recordings (spec §5.4.4, §5.5)
    # -----------------------------------------------------------------------------------------

    def stop_call(self, session_id: str) -> ResultEnvelope:
        """Hang up the call with this ``sessionId`` (of its call events); sent as ``sessionid``."""
        return self.call(modes.STOP_CALL, session_id=session_id)

    def recording_download_url(self, file_name: str, record_domain: str) -> str:
        """The download address of a recording: the ``Location`` of the platform's 301.

        The redirect is never followed (following it would download the audio instead).
        """
        return self.call(
            modes.RECORDING_DOWNLOAD_URL, file_name=file_name, record_domain=record_domain
        )
