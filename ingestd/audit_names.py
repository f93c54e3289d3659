"""What each audit action and subject is called, in Chinese and English: the console's audit
page, a recording's history and its PDF say "申请调阅", never `access.requested`. The codes
stay in the signed record (and on the command line) as they are; an action not named here
is shown as its code, so a new one is visible rather than hidden."""

from __future__ import annotations

ACTIONS: dict[str, tuple[str, str]] = {
    "access.requested": ("申请调阅", "Access requested"),
    "access.approved": ("批准调阅", "Access approved"),
    "access.denied": ("驳回调阅", "Access denied"),
    "access.refused": ("拒绝越权操作", "Act refused"),
    "alert.raised": ("发出提醒", "Alert raised"),
    "alert.claimed": ("领取提醒发送", "Alert taken for sending"),
    "alert.delivered": ("提醒已送达", "Alert delivered"),
    "alert.delivery_failed": ("提醒发送失败", "Alert not delivered"),
    "alert.test_sent": ("发送测试提醒", "Test alert sent"),
    "audit.node_registered": ("登记审计节点", "Audit node registered"),
    "case.opened": ("建立案件", "Case opened"),
    "case.ended": ("案件办结", "Case ended"),
    "case.archived": ("案件归档", "Case archived"),
    "case.storage_location": ("登记存放位置", "Storage location set"),
    "compliance.recomputed": ("重新核算上传期限", "Deadlines recomputed"),
    "compliance.rolled_up": ("汇总每日统计", "Daily figures rolled up"),
    "compliance.shifts_recomputed": ("重新核算班次", "Shifts recomputed"),
    "deletion.requested": ("申请删除", "Deletion requested"),
    "deletion.done": ("删除", "Deleted"),
    "deletion.refused": ("拒绝删除", "Deletion refused"),
    "device.registered": ("登记记录仪", "Camera registered"),
    "device.owner_set": ("指定记录仪使用人", "Camera owner set"),
    "dock.clock_stepped": ("采集站时钟跳变", "Dock clock stepped"),
    "dock.started": ("开始采集", "Dock started"),
    "dock.scanned": ("清点记录仪文件", "Camera files counted"),
    "dock.released": ("采集完成，可以拔出", "Dock released"),
    "dock.interrupted": ("采集中断", "Dock interrupted"),
    "evidence.set": ("填写证明对象", "证明对象 entered"),
    "evidence.case_linked": ("关联案件", "Linked to a case"),
    "evidence.derived": ("生成证据元数据", "Evidence metadata made"),
    "export.requested": ("申请导出", "Export asked"),
    "export.written": ("导出完成", "Export written"),
    "export.downloaded": ("下载导出文件", "Export downloaded"),
    "fixity.checked": ("完整性核验", "Fixity checked"),
    "gap.detected": ("发现录像中断", "Interruption found"),
    "gap.updated": ("更新录像中断", "Interruption updated"),
    "gap.superseded": ("中断已被补齐", "Interruption filled in"),
    "gap.explained": ("说明中断原因", "Interruption explained"),
    "hold.placed": ("设置法律保全", "Legal hold placed"),
    "hold.released": ("解除法律保全", "Legal hold released"),
    "incident.opened": ("登记事件", "Incident opened"),
    "incident.explained": ("书面说明", "Incident explained"),
    "job.failed": ("任务失败", "Job failed"),
    "job.failure_ignored": ("忽略任务失败", "Job failure set aside"),
    "job.reclaimed": ("收回任务", "Job reclaimed"),
    "job.retry": ("重试任务", "Job retried"),
    "jobs.claimed": ("领取任务", "Jobs claimed"),
    "jobs.done": ("任务完成", "Jobs done"),
    "jobs.failed": ("任务失败", "Jobs failed"),
    "jobs.given_back": ("交回任务", "Jobs given back"),
    "jobs.holder_gone": ("任务执行者已退出", "Jobs' holder gone"),
    "jobs.lease_renewed": ("续期任务", "Jobs renewed"),
    "jobs.queued": ("任务排队", "Jobs queued"),
    "jobs.released": ("放行任务", "Jobs released"),
    "officer.added": ("登记执法人员", "Officer added"),
    "recording.ingested": ("入库", "Ingested"),
    "recording.indexed": ("重建索引", "Indexed"),
    "recording.probed": ("读取媒体信息", "Media probed"),
    "recording.sm3": ("计算 SM3 摘要", "SM3 digest made"),
    "recording.checked": ("结构检查", "Structure checked"),
    "recording.check_failed": ("结构检查出错", "Structure check failed"),
    "recording.flagged": ("标记待核查", "Flagged"),
    "recording.viewed": ("查看", "Viewed"),
    "recording.audit_downloaded": ("下载审计记录", "Audit history downloaded"),
    "recording.played": ("播放", "Played"),
    "recording.recovery_recovered": ("从损坏文件恢复", "Recovered"),
    "recording.recovery_waiting_reference": ("等待恢复", "Recovery waiting"),
    "recording.recovery_nothing_recoverable": ("无法恢复", "Nothing recoverable"),
    "recording.recovery_failed": ("恢复失败", "Recovery failed"),
    "recordings.downloaded": ("下载记录列表", "List downloaded"),
    "replica.asked": ("请求副本", "Replica asked"),
    "replica.copied": ("写入副本存储", "Copied to the replica"),
    "replica.proven": ("回读核验副本", "Replica read back"),
    "replica.restored": ("从副本恢复", "Restored from the replica"),
    "replica.terms_kept": ("副本保全期限跟随", "Replica terms kept"),
    "replica.version_written": ("新版本写入副本", "Version written to the replica"),
    "report.written": ("生成报表", "Report written"),
    "report.downloaded": ("下载报表", "Report downloaded"),
    "roster.imported": ("导入排班表", "Roster imported"),
    "rules.changed": ("规则变更", "Rules changed"),
    "source.ingested": ("采集文件", "File taken"),
    "source.duplicate": ("重复文件", "Duplicate file"),
    "source.damaged": ("损坏文件", "Damaged file"),
    "source.skipped": ("跳过文件", "File skipped"),
    "source.failed": ("文件读取失败", "File not taken"),
    "store.evicting": ("原始文件移出本地", "Leaving the disk"),
    "store.evict_undone": ("撤销移出", "Eviction undone"),
    "store.recalling": ("取回原始文件", "Recalling"),
    "store.recalled": ("已取回原始文件", "Recalled"),
    "store.recall_failed": ("取回失败", "Recall failed"),
    "timeline.clock": ("校正记录仪时间", "Camera clock placed"),
    "trip.ruled": ("认定外出执法", "Trip ruled"),
    "usb.refused": ("拒绝非本单位 USB 设备", "USB device refused"),
    "user.added": ("添加用户", "User added"),
    "user.disabled": ("停用用户", "User disabled"),
    "user.password_set": ("设置密码", "Password set"),
    "user.pin_set": ("设置 PIN", "PIN set"),
    "web.login": ("登录", "Logged in"),
    "web.login_failed": ("登录失败", "Log-in failed"),
    "web.logout": ("退出", "Logged out"),
    "web.password_check_failed": ("当前密码错误", "Wrong current password"),
    "web.session_ended": ("会话终止", "Session ended"),
}

SUBJECTS: dict[str, tuple[str, str]] = {
    "access_request": ("调阅申请", "access request"), "alert": ("提醒", "alert"),
    "alert_channel": ("提醒通道", "alert channel"), "alert_deliveries": ("提醒发送", "deliveries"),
    "case": ("案件", "case"), "compliance_daily": ("每日统计", "daily figures"), "deletion": ("删除", "deletion"),
    "device": ("记录仪", "camera"), "dock_session": ("采集", "dock"), "dock": ("采集站", "docking station"), "export": ("导出", "export"),
    "export_request": ("导出申请", "export request"), "gap": ("中断", "interruption"),
    "incident": ("事件", "incident"), "job": ("任务", "job"), "jobs": ("任务", "jobs"),
    "legal_hold": ("法律保全", "legal hold"), "recording": ("音像记录", "recording"),
    "recordings": ("音像记录", "recordings"), "replica": ("副本", "replica"), "report": ("报表", "report"),
    "roster_import": ("排班表", "roster"), "rules": ("规则", "rules"), "shift": ("班次", "shift"),
    "shifts": ("班次", "shifts"), "store": ("存储", "store"), "user": ("用户", "user"),
    "officer": ("执法人员", "officer"), "node": ("节点", "node"),
}

# Entries the system writes for itself (its job queue): hidden on the audit page unless asked for.
SYSTEM_PREFIXES = ("jobs.", "job.", "compliance.rolled_up", "alert.claimed")
SYSTEM_ACTOR = "ingestd"


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[1] if language == "en" else pair[0]


def action_name(action: str, language: str) -> str:
    pair = ACTIONS.get(action)
    return _pick(pair, language) if pair else action


def subject_name(kind: str, language: str) -> str:
    pair = SUBJECTS.get(kind)
    return _pick(pair, language) if pair else kind


def is_system(action: str) -> bool:
    return action.startswith(SYSTEM_PREFIXES)
