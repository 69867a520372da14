"""Answering requests: the session rules every endpoint shares, and the verbs of one role.

:class:`Dispatcher` is the *responder* a :class:`~hil.link.Link` calls for
each new request. It answers ``HELLO``, ``PING`` and ``STATUS`` itself,
refuses what the role does not offer (``ERR UNKNOWN``), arguments that do not
fit the verb (``ERR BADARG``, from :func:`hil.verbs.parse_args`) and anything
but a session verb before ``HELLO`` (``ERR STATE``); everything else goes to
an :class:`Endpoint` (the plant server, the firmware side), which returns the
reply's values or raises :class:`Refusal`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from .link import Response
from .protocol import VERSION, ErrorCode, Request, Value, err_frame, ok_frame
from .verbs import FIRMWARE_ROLES, PLANT_ROLES, ROLE_CAPS, ROLES, VERBS, ArgError, Args, Group, parse_args


class Refusal(Exception):
    """An endpoint will not act on a request: answered ``ERR <code> <text>``."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


def state_error(text: str) -> Refusal:
    return Refusal(ErrorCode.STATE, text)


def arg_error(text: str) -> Refusal:
    return Refusal(ErrorCode.BADARG, text)


class Endpoint(Protocol):
    """One role's verbs (see :mod:`hil.plant_server`, :mod:`hil.firmware_side`)."""

    def new_session(self, peer_role: str, session: str | None) -> None:
        """A HELLO started a new session with a peer of *peer_role*: forget the old one.

        Raises :class:`Refusal` to refuse the session (HELLO is then answered ERR).
        """

    def status(self) -> Mapping[str, Value]:
        """``STATUS`` keys beyond ROLE and VERSION (STATE first)."""

    def handle(self, verb: str, args: Args) -> Mapping[str, Value]:
        """Act on *verb* (already checked against the role and its arguments); the OK reply's values.

        Raises :class:`Refusal` to answer ERR.
        """


class Dispatcher:
    """The responder of an endpoint playing *role* (``host``, ``dut``, ``bench``, ``plant``)."""

    def __init__(self, role: str, endpoint: Endpoint) -> None:
        if role not in ROLES:
            raise ValueError(f"role = {role!r}: expected one of {', '.join(ROLES)}")
        self.role = role
        self.endpoint = endpoint
        self.caps = ROLE_CAPS[role]
        self.session: str | None = None
        self.peer_role: str | None = None
        #: Sessions started (HELLOs that were not a resumption).
        self.sessions = 0
        #: The VERSION of the last HELLO refused for speaking another protocol version, if any.
        self.wrong_version: int | None = None

    def __call__(self, req: Request) -> Response:
        verb = VERBS.get(req.verb)
        if verb is None or (verb.group != Group.SESSION and verb.group not in self.caps) or \
                (verb.group == Group.SESSION and verb.to not in ("any", self._side())):
            return Response(err_frame(req.seq, ErrorCode.UNKNOWN, f"{req.verb}: not a verb of a {self.role}"))
        try:
            args = parse_args(verb, req.args)
        except ArgError as e:
            return Response(err_frame(req.seq, ErrorCode.BADARG, str(e)))
        if req.verb == "HELLO":
            return self._hello(req, args)
        if req.verb == "PING":
            return Response(ok_frame(req.seq))
        if req.verb == "STATUS":
            return Response(ok_frame(req.seq, {"ROLE": self.role, "VERSION": VERSION, **self.endpoint.status()}))
        if self.peer_role is None:
            return Response(err_frame(req.seq, ErrorCode.STATE, f"{req.verb}: send HELLO first"))
        try:
            values = self.endpoint.handle(req.verb, args)
        except Refusal as r:
            return Response(err_frame(req.seq, r.code, r.text), cache=r.code != ErrorCode.BUSY)
        return Response(ok_frame(req.seq, values))

    def opened(self, peer_role: str, session: str | None) -> None:
        """Our own HELLO to the peer was answered: the session is open both ways (its requests are served)."""
        self.peer_role, self.session = peer_role, session

    def _side(self) -> str:
        return "plant" if self.role in PLANT_ROLES else "firmware"

    def _hello(self, req: Request, args: Args) -> Response:
        if args.integer("VERSION") != VERSION:
            self.wrong_version = args.integer("VERSION")
            return Response(err_frame(req.seq, ErrorCode.VERSION, str(VERSION)))
        peer = args.word("ROLE")
        wanted = FIRMWARE_ROLES if self.role in PLANT_ROLES else PLANT_ROLES
        if peer not in wanted:
            return Response(err_frame(req.seq, ErrorCode.BADARG,
                                      f"ROLE={peer}: a {self.role} talks to a {' or '.join(wanted)}"))
        session = args.maybe_word("SESSION")
        resumed = session is not None and session == self.session and self.peer_role == peer
        if not resumed:
            try:
                self.endpoint.new_session(peer, session)
            except Refusal as r:
                return Response(err_frame(req.seq, r.code, r.text))
            self.session, self.peer_role = session, peer
            self.sessions += 1
        reply = ok_frame(req.seq, {"VERSION": VERSION, "ROLE": self.role, "CAPS": self.caps})
        return Response(reply, new_session=not resumed)
