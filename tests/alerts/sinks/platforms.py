"""A real HTTP server on 127.0.0.1 enforcing each chat platform's documented webhook contract."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from aiohttp import web

from alerts.model import Alert

WECOM_KEY = "wk-7f3a9c1e-SECRET-KEY"
DINGTALK_TOKEN = "dt0123456789SECRETTOKEN"
DINGTALK_SECRET = "SECdingtalk+secret/with=chars"
FEISHU_TOKEN = "fs-hook-SECRETTOKEN-42"
FEISHU_SECRET = "feishuSigningSecret99"
SLACK_PATH = "T0SECRET1/B0SECRET2/xoxSECRETpart3"
WEBHOOK_SECRET = "whsec_SECRET_generic"
ALL_SECRETS = (WECOM_KEY, DINGTALK_TOKEN, DINGTALK_SECRET, FEISHU_TOKEN, FEISHU_SECRET,
               SLACK_PATH, "xoxSECRETpart3", WEBHOOK_SECRET)


@dataclass
class Forced:
    status: int = 200
    body: object = ""
    headers: dict = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Platforms:
    """Accepted messages per platform, request counts, and scripted failures."""

    base: str = ""
    accepted: dict = field(default_factory=lambda: defaultdict(list))
    hits: dict = field(default_factory=lambda: defaultdict(int))
    script: dict = field(default_factory=lambda: defaultdict(deque))
    echo_status: int = 404  # what /echo/... answers, with the request path and query in the body

    def force(self, platform: str, *responses: Forced) -> None:
        self.script[platform].extend(responses)


def _reply(f: Forced) -> web.Response:
    if isinstance(f.body, (dict, list)):
        return web.json_response(f.body, status=f.status, headers=f.headers)
    return web.Response(status=f.status, text=str(f.body), headers=f.headers)


def _contract(platform: str, state: Platforms):
    def deco(check):
        async def handler(request: web.Request) -> web.Response:
            state.hits[platform] += 1
            if state.script[platform]:
                forced = state.script[platform].popleft()
                if forced.delay_s:
                    await asyncio.sleep(forced.delay_s)
                return _reply(forced)
            raw = await request.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            resp, ok = check(request, raw, body)
            if ok:
                state.accepted[platform].append(body if body is not None else raw)
            return resp
        return handler
    return deco


def _errcode(code, msg):
    """WeCom's and DingTalk's refusal: HTTP 200 with a non-zero errcode."""
    return web.json_response({"errcode": code, "errmsg": msg}), False


def _wecom(request, raw, body):
    if request.query.get("key") != WECOM_KEY:
        return _errcode(93000, "invalid webhook url")
    if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown"):
        return _errcode(40008, "invalid message type")
    part = body.get(body["msgtype"])
    content = part.get("content") if isinstance(part, dict) else None
    limit = 2048 if body["msgtype"] == "text" else 4096
    if not isinstance(content, str) or not content or len(content.encode()) > limit:
        return _errcode(44004, "empty or too long content")
    mentions = part.get("mentioned_mobile_list", [])
    if not isinstance(mentions, list) or not all(isinstance(m, str) for m in mentions):
        return _errcode(40058, "mentioned_mobile_list invalid")
    return web.json_response({"errcode": 0, "errmsg": "ok"}), True


def _dingtalk(request, raw, body):
    if request.query.get("access_token") != DINGTALK_TOKEN:
        return _errcode(300001, "token is not exist")
    ts, sign = request.query.get("timestamp", ""), request.query.get("sign", "")
    if not ts.isdigit() or abs(time.time() * 1000 - int(ts)) > 3_600_000:
        return _errcode(310000, "invalid timestamp")
    # Recomputed as the DingTalk docs describe: HmacSHA256(key=secret, "ts\nsecret"), base64.
    want = base64.b64encode(hmac.new(DINGTALK_SECRET.encode(), f"{ts}\n{DINGTALK_SECRET}".encode(),
                                     hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(want, sign):
        return _errcode(310000, "sign not match")
    body = body if isinstance(body, dict) else {}
    md = body.get("markdown")
    if body.get("msgtype") != "markdown" or not isinstance(md, dict) or not all(
            isinstance(md.get(k), str) and md.get(k) for k in ("title", "text")):
        return _errcode(40035, "缺少参数 markdown")
    at = body.get("at", {})
    if not isinstance(at.get("atMobiles", []), list) or not isinstance(
            at.get("isAtAll", False), bool):
        return _errcode(40035, "at invalid")
    return web.json_response({"errcode": 0, "errmsg": "ok"}), True


def _feishu(request, raw, body):
    def err(code, msg, status=200):
        return web.json_response({"code": code, "msg": msg, "data": {}}, status=status), False

    if request.match_info["token"] != FEISHU_TOKEN:
        return err(19001, "param invalid: incoming webhook access token invalid")
    if not isinstance(body, dict):
        return err(9499, "Bad Request", 400)
    ts, sign = str(body.get("timestamp", "")), body.get("sign", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 3600:
        return err(19021, "sign match fail or timestamp is not within one hour from current time")
    # Feishu: the string "ts\nsecret" is the HMAC key, the message is empty.
    want = base64.b64encode(hmac.new(f"{ts}\n{FEISHU_SECRET}".encode(), b"",
                                     hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(want, str(sign)):
        return err(19021, "sign match fail or timestamp is not within one hour from current time")
    kind = body.get("msg_type")
    if kind == "text":
        ok = isinstance(body.get("content"), dict) and isinstance(body["content"].get("text"), str)
    elif kind == "interactive":
        card = body.get("card")
        ok = isinstance(card, dict) and isinstance(card.get("elements"), list) and isinstance(
            card.get("header", {}).get("title", {}).get("content"), str)
    else:
        ok = False
    if not ok:
        return err(9499, "Bad Request", 400)
    return web.json_response({"code": 0, "msg": "success", "data": {}}), True


def _slack(request, raw, body):
    if request.match_info["path"] != SLACK_PATH:
        return web.Response(status=404, text="no_service"), False
    if not isinstance(body, dict):
        return web.Response(status=400, text="invalid_payload"), False
    if not isinstance(body.get("text"), str) or not body["text"]:
        return web.Response(status=400, text="no_text"), False
    blocks = body.get("blocks", [])
    if not isinstance(blocks, list) or any(b.get("type") != "section" for b in blocks):
        return web.Response(status=400, text="invalid_blocks"), False
    return web.Response(text="ok"), True


def _webhook(request, raw, body):
    ts = request.headers.get("X-Roompulse-Timestamp", "")
    got = request.headers.get("X-Roompulse-Signature", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
        return web.Response(status=401, text="stale or missing timestamp"), False
    want = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), ts.encode() + b"." + raw,
                                hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, got):
        return web.Response(status=401, text="bad signature"), False
    try:
        Alert.model_validate_json(raw)
    except ValueError:
        return web.Response(status=422, text="not an alert"), False
    return web.Response(status=204), True


def _echo(state: Platforms):
    async def handler(request: web.Request) -> web.Response:
        # Like many real receivers' error pages: the request line, credential and all.
        state.hits["echo"] += 1
        return web.Response(status=state.echo_status,
                            text=f"no route for POST {request.path_qs} ({request.url})")
    return handler


def make_app(state: Platforms) -> web.Application:
    app = web.Application()
    app.router.add_post("/echo/{tail:.+}", _echo(state))
    app.router.add_post("/cgi-bin/webhook/send", _contract("wecom", state)(_wecom))
    app.router.add_post("/robot/send", _contract("dingtalk", state)(_dingtalk))
    app.router.add_post("/open-apis/bot/v2/hook/{token}", _contract("feishu", state)(_feishu))
    app.router.add_post("/services/{path:.+}", _contract("slack", state)(_slack))
    app.router.add_post("/hook", _contract("webhook", state)(_webhook))
    return app
