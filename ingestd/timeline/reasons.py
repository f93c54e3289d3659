"""Interruption reasons: one catalogue, with the Chinese labels the rules use
(002 第14条, 004 第15条: 设备故障、设备损坏、电量不足、存储空间不足、天气情况恶劣)."""

from __future__ import annotations

REASONS: dict[str, str] = {
    "equipment_fault": "设备故障",
    "equipment_damage": "设备损坏",
    "low_battery": "电量不足",
    "storage_full": "存储空间不足",
    "bad_weather": "天气情况恶劣",
    "other": "其他",  # needs a written note
}
