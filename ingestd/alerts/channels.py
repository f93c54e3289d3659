"""Delivering one alert on one channel: a signed JSON webhook, the DingTalk (钉钉) and WeCom
(企业微信) group robots in the formats those offices use, and SMTP e-mail. Each sender
raises DeliveryError with a one-line reason; the caller records it and retries later."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from ingestd.config import EmailChannel, RobotChannel, SmtpSettings, WebhookChannel
from ingestd.errors import IngestdError


class DeliveryError(IngestdError):
    """A channel did not take the message (network, HTTP status, robot error code)."""


@dataclass(frozen=True)
class Message:
    key: str
    code: str
    severity: str
    label_zh: str
    article: str | None
    text: str  # English, as in the log
    text_zh: str
    subject: str
    raised_at: str
    dock: str
    detail: dict
    recipients: list[dict]  # {"badge", "name", "email", "mobile"}

    @property
    def title(self) -> str:
        return f"【{self.label_zh}】{self.subject}"

    def as_json(self) -> dict:
        return {"key": self.key, "event": self.code, "severity": self.severity, "label_zh": self.label_zh,
                "article": self.article, "message": self.text, "message_zh": self.text_zh, "subject": self.subject,
                "raised_at": self.raised_at, "dock": self.dock, "detail": self.detail,
                "recipients": [r["badge"] for r in self.recipients]}


def post_json(url: str, body: dict, timeout: float, headers: dict[str, str] | None = None) -> bytes:
    """The one HTTP client: POST JSON, return the response body, raise on anything but 2xx."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return post_bytes(url, data, timeout, headers)


def post_bytes(url: str, data: bytes, timeout: float, headers: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from {_host(url)}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{_host(url)}: {getattr(exc, 'reason', exc)}") from None


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """What a receiver recomputes: hex HMAC-SHA256 of "<timestamp>.<body>" under the shared secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def send_webhook(channel: WebhookChannel, msg: Message) -> None:
    body = json.dumps(msg.as_json(), ensure_ascii=False).encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {"X-Ingestd-Event": msg.code, "X-Ingestd-Key": msg.key, "X-Ingestd-Timestamp": timestamp}
    if channel.secret:
        headers["X-Ingestd-Signature"] = "sha256=" + webhook_signature(channel.secret, timestamp, body)
    post_bytes(channel.url, body, channel.timeout_s, headers)


def dingtalk_url(url: str, secret: str | None, now_ms: int) -> str:
    """钉钉 加签: sign = urlencode(base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")))."""
    if not secret:
        return url
    digest = hmac.new(secret.encode(), f"{now_ms}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={now_ms}&sign={sign}"


def _robot_text(channel: RobotChannel, msg: Message, markdown: bool) -> str:
    lines = [f"#### {msg.title}" if markdown else msg.title, msg.text_zh]
    if msg.article:
        lines.append(f"依据：{msg.article}")
    names = "、".join(r["name"] or r["badge"] for r in msg.recipients)
    if names:
        lines.append(f"请 {names} 处理")
    lines.append(f"（{msg.dock} {msg.raised_at}{'，' + channel.keyword if channel.keyword else ''}）")
    mentions = " ".join(f"@{r['mobile']}" for r in msg.recipients if r.get("mobile"))
    if markdown and mentions:
        lines.append(mentions)  # DingTalk only notifies mobiles that also appear in the text
    return ("\n\n" if markdown else "\n").join(lines)


def send_robot(channel: RobotChannel, msg: Message) -> None:
    mobiles = [r["mobile"] for r in msg.recipients if r.get("mobile")]
    if channel.kind == "dingtalk":
        body = {"msgtype": "markdown", "markdown": {"title": msg.title, "text": _robot_text(channel, msg, True)},
                "at": {"atMobiles": mobiles, "isAtAll": False}}
        url = dingtalk_url(channel.url, channel.secret, int(time.time() * 1000))
    else:  # WeCom: a text message is the one that can @ people by mobile number
        body = {"msgtype": "text", "text": {"content": _robot_text(channel, msg, False),
                                            "mentioned_mobile_list": mobiles}}
        url = channel.url
    reply = post_json(url, body, channel.timeout_s)
    try:
        answer = json.loads(reply or b"{}")
    except ValueError:
        raise DeliveryError(f"{channel.kind} robot answered something that is not JSON") from None
    if answer.get("errcode", 0) != 0:
        raise DeliveryError(f"{channel.kind} robot refused: {answer.get('errcode')} {answer.get('errmsg', '')}")


def send_email(smtp: SmtpSettings, to: list[str], subject: str, body: str,
               attachments: list[Path] = ()) -> None:
    if not smtp.host:
        raise DeliveryError("no [smtp] host is configured")
    if not to:
        raise DeliveryError("no e-mail address to send to")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp.sender, ", ".join(to), subject
    message.set_content(body)
    for path in attachments:
        message.add_attachment(path.read_bytes(), maintype="application", subtype="octet-stream",
                               filename=path.name)
    try:
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_s,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"smtp {smtp.host}:{smtp.port}: {exc}") from None


def send_alert_email(channel: EmailChannel, smtp: SmtpSettings, msg: Message) -> None:
    to = list(dict.fromkeys([*channel.to, *(r["email"] for r in msg.recipients if r.get("email"))]))
    body = "\n".join([msg.text_zh, msg.text, "", f"依据：{msg.article or '—'}",
                      f"对象：{msg.subject}", f"时间：{msg.raised_at}（{msg.dock}）", f"编号：{msg.key}"])
    send_email(smtp, to, f"[ingestd] {msg.title}", body)
