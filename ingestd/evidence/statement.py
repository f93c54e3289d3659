"""The 文字说明 that goes with recordings into the case file (附卷): for every file its name,
制作方法, 制作时间, 制作人, 证明对象, size and digests, the stated reasons of its
interruptions, written explanations and 录音内容, and how to check them. Written as plain
text (readable anywhere) and as PDF. Articles are the unit's policy's."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingestd.documents import render, write_pdf

TEXT_NAME = "文字说明.txt"
PDF_NAME = "文字说明.pdf"


@dataclass(frozen=True)
class StatementItem:
    volume: int
    name: str
    bag_path: str  # where the original is inside its volume's bag
    method: str
    made_at: str
    maker: str | None
    proves: str | None
    size: int
    sha256: str
    sm3: str
    proxy: str | None
    notes: list[str] = field(default_factory=list)  # interruption reasons, 书面说明, 录音内容


@dataclass
class Statement:
    label: str
    header: list[tuple[str, str]]
    integrity_article: str  # the unit's article against cutting or editing originals (or 本单位规定)
    items: list[StatementItem] = field(default_factory=list)

    @property
    def how_to_verify(self) -> list[str]:
        return [
            "每一卷均为 BagIt（RFC 8493）格式的数据包：在该卷目录执行 `bagit.py --validate .` 可校验全部文件；"
            "或在该卷目录执行 `sha256sum -c manifest-sha256.txt`（SHA-512 同理）。",
            "原始文件的 SHA-256 应与本说明所列一致；SM3 可用 `openssl dgst -sm3 文件名` 或 `gmssl sm3 文件名` 计算比对。",
            f"原始文件自执法记录仪导出后按原样保存，未经剪辑、修改或删除（{self.integrity_article}）；"
            "播放副本为便于查看而转码，不作为原始证据。",
            "segments 目录中的分段清单（manifest.json）列出播放分段的 SHA-256，并由本单位签名；"
            "签名公钥见 ingestd-verify-key.pem。",
        ]

    def text(self) -> str:
        lines = ["文字说明", ""]
        lines += [f"{k}：{v}" for k, v in self.header]
        lines += ["", "一、文件清单", ""]
        for i, it in enumerate(self.items, 1):
            lines += [f"{i}. {it.name}（第 {it.volume} 卷：{it.bag_path}）",
                      f"   制作方法：{it.method}",
                      f"   制作时间：{it.made_at}",
                      f"   制作人：{it.maker or '不明'}",
                      f"   证明对象：{it.proves or '（未填写）'}",
                      f"   大小：{it.size} 字节",
                      f"   SHA-256：{it.sha256}",
                      f"   SM3：{it.sm3}"]
            lines += [f"   {note}" for note in it.notes]
            if it.proxy:
                lines.append(f"   播放副本：{it.proxy}（转码副本，非原始文件）")
            lines.append("")
        lines += ["二、校验方法", ""]
        lines += [f"{i}. {line}" for i, line in enumerate(self.how_to_verify, 1)]
        return "\n".join(lines) + "\n"

    def write(self, directory: Path) -> list[Path]:
        text_path, pdf_path = directory / TEXT_NAME, directory / PDF_NAME
        text_path.write_text(self.text(), encoding="utf-8")
        write_pdf(render("statement.html.j2", s=self), pdf_path)
        return [text_path, pdf_path]
