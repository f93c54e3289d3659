"""The catalogue of findings: every problem ingestd reports has one stable code here.

The CLI, the report and the web console show `code` and the message from this table, so
a code means the same thing everywhere and can be searched for in a log or a footnote.
Codes are never renamed or reused; retire one by leaving it here unused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from ingestd.errors import Refused

if TYPE_CHECKING:
    from ingestd.compliance.policy import Policy


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class FindingKind:
    code: str
    severity: Severity
    label_zh: str
    message: str  # str.format template over the finding's detail
    # The rule the finding enforces (a key of the policy's articles, e.g. "damaged_file"): the
    # article shown is the policy in force's (Policy.cite), so a unit sees only its own.
    rule: str | None = None

    def label(self, language: str) -> str:
        """Its name in a console of `language`: the Chinese label, or the English one (a
        refusal, shown by its message rather than its name, has its code in words)."""
        if language != "en":
            return self.label_zh
        return LABELS_EN.get(self.code) or self.code.replace("_", " ").capitalize()


_KINDS = [
    # Ingest outcomes
    FindingKind("damaged_file", Severity.ERROR, "文件损坏或无法解析",
                "{path}: stored byte for byte but cannot be parsed ({reason})", "damaged_file"),
    FindingKind("check_failed", Severity.WARNING, "结构检查未完成",
                "{path}: stored byte for byte; its structural check failed ({reason}) and runs again after the "
                "dock: not called damaged for a failure of the check"),
    # Recovery of a damaged recording (ingestd.media.recovered): a derivative, never the original
    FindingKind("recording_recovered", Severity.INFO, "已从损坏文件恢复",
                "{path}: {video} of video and {audio} of audio recovered from the damaged original (which stays "
                "as it is); the file stops mid-recording", "damaged_file"),
    FindingKind("recording_recovered_skipping", Severity.INFO, "已从损坏文件部分恢复",
                "{path}: {video} of video and {audio} of audio recovered from the damaged original (which stays "
                "as it is); {skipped} that could not be read were skipped", "damaged_file"),
    FindingKind("recovery_waiting", Severity.INFO, "待恢复",
                "{path}: no healthy recording of this camera yet to recover it by; it is recovered after the "
                "camera's next dock"),
    FindingKind("nothing_recovered", Severity.WARNING, "无法恢复",
                "{path}: nothing in the damaged bytes could be recovered ({reason})", "damaged_file"),
    FindingKind("recovery_failed", Severity.WARNING, "恢复失败",
                "{path}: the recovery failed ({reason}); listed with the jobs that need someone"),
    FindingKind("duplicate_content", Severity.INFO, "重复文件",
                "{path}: same content as recording {recording_id}, not stored twice"),
    FindingKind("already_ingested", Severity.INFO, "已入库",
                "{path}: already ingested from this device as recording {recording_id}"),
    FindingKind("name_conflict", Severity.WARNING, "同名不同内容",
                "{path}: a different recording from this device has the same name; both are kept",
                "integrity"),
    FindingKind("skipped_symlink", Severity.WARNING, "跳过符号链接",
                "{path}: symbolic link on the camera, not followed"),
    FindingKind("skipped_special", Severity.WARNING, "跳过特殊文件",
                "{path}: not a regular file ({kind}), not read"),
    FindingKind("skipped_not_media", Severity.INFO, "非音像文件",
                "{path}: not a recording this profile takes ({reason})"),
    FindingKind("read_failed", Severity.ERROR, "读取失败",
                "{path}: could not be read off the camera ({reason}); nothing was kept, the next dock retries"),
    FindingKind("verify_mismatch", Severity.ERROR, "校验不一致",
                "{path}: the stored copy re-read from disk differs from what was read; nothing was kept"),
    FindingKind("disk_full", Severity.ERROR, "存储空间耗尽",
                "{where}: the disk was full during dock session {session}; what was not recorded stays on the "
                "camera for the next dock", "damaged_file"),
    FindingKind("changed_during_copy", Severity.WARNING, "复制中文件变化",
                "{path}: changed while it was copied ({reason}); nothing was kept, the next dock takes it whole"),
    FindingKind("store_write_failed", Severity.ERROR, "存储写入失败",
                "{path}: could not be written to the store ({reason}); nothing was kept", "damaged_file"),
    # Store fixity and audit
    FindingKind("fixity_changed", Severity.ERROR, "原始文件被改动",
                "{object_id}: {path} no longer has the digest it was stored with", "integrity"),
    FindingKind("fixity_missing", Severity.ERROR, "原始文件缺失",
                "{object_id}: {path} is missing from the store", "integrity"),
    FindingKind("object_invalid", Severity.ERROR, "存储对象异常",
                "{object_id}: {reason}", "integrity"),
    FindingKind("store_foreign", Severity.ERROR, "存储根目录异物",
                "{path}: in the storage root but not part of the store (move it out)", "integrity"),
    FindingKind("replica_lagging", Severity.ERROR, "副本未按时确认",
                "{count} recordings not proven in the replica bucket {bucket} within {limit} h of their dock "
                "(the oldest waits {oldest_h} h): evidence has one copy until then"),
    # A restore from the replica bucket: what could not come back as the dock wrote it, and
    # versions someone else put there (each named; the restore exits 1).
    FindingKind("replica_incomplete", Severity.ERROR, "副本对象不完整",
                "{object_id}: the bucket holds no root inventory for it (its upload was cut off): not restored; "
                "the dock that docked it finishes the copy at its next `ingestd replica sync`", "integrity"),
    FindingKind("replica_not_locked", Severity.ERROR, "副本文件未锁定",
                "{object_id}: {key} has no version locked in COMPLIANCE mode (none of them is the dock's): "
                "nothing of the object was put in the store", "integrity"),
    FindingKind("replica_version_gone", Severity.ERROR, "副本版本缺失",
                "{object_id}: version {version_id} of {key}, which the dock proved, is no longer in the bucket: "
                "nothing of the object was put in the store", "integrity"),
    FindingKind("replica_mismatch", Severity.ERROR, "副本内容不符",
                "{object_id}: no version of {key} in the bucket has the content the object's inventory and id "
                "give it: nothing of the object was put in the store", "integrity"),
    FindingKind("replica_overwritten", Severity.ERROR, "副本被改写",
                "{key}: a version the dock did not write ({version_id}) sits beside the one it wrote; the dock's "
                "was restored. Someone with the bucket's keys wrote it", "integrity"),
    FindingKind("replica_delete_marker", Severity.ERROR, "副本被删除标记遮盖",
                "{key}: a delete marker hides the version the dock locked; the locked one was restored. "
                "Someone with the bucket's keys deleted it", "integrity"),
    # The bucket as the archive: a copy read back that is not what the dock proved, why an
    # original stays on the disk, and a disk about to fill.
    FindingKind("replica_copy_missing", Severity.ERROR, "副本文件缺失",
                "recording {recording_id:.12}: {key} of its bucket copy is not there as the dock wrote it "
                "(gone, or no longer locked)", "integrity"),
    FindingKind("replica_copy_changed", Severity.ERROR, "副本文件被改动",
                "recording {recording_id:.12}: {key} read back from the bucket does not have the SHA-256 the dock "
                "proved", "integrity"),
    FindingKind("replica_copy_unreadable", Severity.ERROR, "副本文件无法读取",
                "recording {recording_id:.12}: the bucket answers for {key} but does not deliver its bytes (a server "
                "that checks its own checksums refuses a changed file)", "integrity"),
    FindingKind("eviction_refused", Severity.INFO, "原始文件保留在本地",
                "recording {recording_id:.12} stays on the disk: {why}"),
    FindingKind("store_filling", Severity.WARNING, "存储空间将满",
                "{path}: at the last 30 days' intake ({per_day_gb} GB a day) the disk reaches its reserve in "
                "{days} days ({why})"),
    FindingKind("store_filling_urgent", Severity.ERROR, "存储空间即将用尽",
                "{path}: at the last 30 days' intake ({per_day_gb} GB a day) the disk reaches its reserve in "
                "{days} days ({why}); docks will be refused then"),
    FindingKind("object_unindexed", Severity.ERROR, "存储对象未入索引",
                "{object_id}: in the store but not in the database (run `ingestd store rebuild-index`)",
                "integrity"),
    FindingKind("index_orphan", Severity.ERROR, "索引无对应对象",
                "recording {recording_id}: in the database but its object is not in the store",
                "integrity"),
    FindingKind("device_mismatch", Severity.ERROR, "记录仪身份不符",
                "{device}: recognised as {profile} but {problems}; offloaded and flagged for checking"),
    FindingKind("storage_nearly_full", Severity.WARNING, "存储空间将满",
                "{device}: camera storage {fill:.0%} full at dock", "device_check"),
    # Timeline
    FindingKind("open_interruption", Severity.WARNING, "中断未说明",
                "gap {gap}: {seconds:.0f} s without recording on {device} from {start}, found at the dock {found}, "
                "needs a reason and an explanation", "interruption_reason"),
    # Where the regulation asks the officer to report at once (立即报告) an interruption that could
    # not be resumed: that is done at the scene; the dock can only say when it found the gap.
    FindingKind("interruption_found", Severity.WARNING, "发现记录中断",
                "gap {gap}: {seconds:.0f} s without recording on {device} from {start}, found at the dock {found}; "
                "where recording could not go on, the officer reports it at once at the scene to {report_to}",
                "interruption_report"),
    FindingKind("camera_holds_stored", Severity.WARNING, "记录仪留存已上传记录",
                "{device}: still holds {files} recording(s) the store already has, the oldest made {oldest}; "
                "clear them from the camera (不得自行保管)", "self_keeping"),
    FindingKind("dock_clock_off", Severity.ERROR, "采集站时钟不准",
                "{dock}: this dock's clock is {offset} against the {against}; the upload times it stamps, "
                "and the late or on time they lead to, cannot be trusted until it is set right"),
    # The dock's own health (ingestd.doctor): each says what to do
    FindingKind("clock_unsynchronised", Severity.ERROR, "系统时钟未同步",
                "the system clock is not synchronised (time sync {ntp}): upload times and camera clock corrections "
                "stand on it; turn time sync on (`timedatectl set-ntp true`) and make its server reachable"),
    FindingKind("clock_sync_unknown", Severity.WARNING, "无法确认时钟同步",
                "whether the system clock is synchronised cannot be told ({reason}); keep it with "
                "`systemd-timesyncd` or `chrony`"),
    FindingKind("clock_stepped", Severity.WARNING, "系统时钟跳变",
                "{dock}: the clock jumped {step} at {at} while ingestd ran; check the upload times stamped "
                "around then"),
    FindingKind("store_unusable", Severity.ERROR, "存储不可用",
                "{path}: the store cannot be used ({reason}); check its disk is mounted and owned by the user "
                "ingestd runs as"),
    FindingKind("database_unreachable", Severity.ERROR, "数据库无法连接",
                "{database}: the database cannot be reached ({reason})"),
    FindingKind("database_damaged", Severity.ERROR, "数据库文件损坏",
                "{database}: {reason}"),
    FindingKind("schema_behind", Severity.ERROR, "数据库结构版本不符",
                "{database}: the schema is at {schema} and this ingestd needs {needs}: run `ingestd db upgrade`"),
    FindingKind("system_rule_missing", Severity.ERROR, "系统规则缺失",
                "{path}: the {what} is {state}; reinstall the ingestd package"),
    FindingKind("inbox_unusable", Severity.ERROR, "收件夹不可用",
                "{path}: the inbox {reason}; recordings put there are not taken"),
    FindingKind("replica_unreachable", Severity.ERROR, "副本存储无法连接",
                "{bucket}: the replica cannot be reached ({reason}); copies wait, and no original leaves the disk"),
    FindingKind("kiosk_not_running", Severity.ERROR, "采集站屏幕未运行",
                "{unit} is {state}: the dock screen is dark; run `systemctl restart {unit}`"),
    FindingKind("signing_key_exposed", Severity.ERROR, "签名密钥权限过宽",
                "{path}: the audit signing key is {reason}; it must be readable by the user ingestd runs as "
                "and no one else (chmod 600)"),
    FindingKind("clock_reset", Severity.WARNING, "记录仪时钟复位",
                "{device}: clip times are near 1970/2000/2080; ordered by sequence number instead"),
    FindingKind("clock_drift", Severity.WARNING, "记录仪时钟漂移",
                "{device}: camera clock drifts {drift} s/day (over 3 s/day)", "device_check"),
    FindingKind("audit_tampered", Severity.ERROR, "审计日志被篡改",
                "audit entry {seq} (chain {node}): {reason}", "integrity"),
    # Upload compliance (the report and the alerts)
    FindingKind("late_upload", Severity.WARNING, "逾期上传",
                "recording {recording_id} of {officer}: uploaded {late_by} after its deadline {deadline}",
                "upload"),
    FindingKind("shift_overdue", Severity.ERROR, "逾期未上传",
                "shift of {officer} ({team}) on {day}: camera {camera} has not docked; deadline {deadline} passed",
                "upload"),
    FindingKind("shift_excused", Severity.INFO, "未按期上传（已说明原因）",
                "shift of {officer} ({team}) on {day}: camera {camera} not docked by {deadline}; "
                "excused by {by}: {reason}", "upload"),
    FindingKind("shift_reminded", Severity.WARNING, "催促上传",
                "{by_name} reminds {officer_name} ({officer}): camera {camera} of the shift on {day} is overdue "
                "since {deadline}; dock it", "upload"),
    FindingKind("deadline_near", Severity.WARNING, "即将逾期",
                "shift of {officer} ({team}) on {day}: camera {camera} has not docked; deadline {deadline}",
                "upload"),
    FindingKind("shift_no_recording", Severity.WARNING, "当班无记录",
                "shift of {officer} ({team}) on {day}: no recording from camera {camera}",
                "upload"),
    FindingKind("off_duty_recording", Severity.INFO, "非工作时间记录",
                "recording {recording_id} of {officer} was made outside any rostered shift; review its use",
                "off_duty"),
    FindingKind("incident_open", Severity.ERROR, "事件未处理",
                "incident {incident_id} ({incident_code}) on recording {recording_id} still needs a written "
                "explanation", "damaged_file"),
    FindingKind("camera_roster_conflict", Severity.WARNING, "排班与记录仪使用人不一致",
                "{device}: the roster issues it to {officers} on {count} shift(s) while its registered owner is "
                "{owner}; the roster decides 制作人 in those shifts", "evidence_metadata"),
    FindingKind("camera_not_docked", Severity.WARNING, "记录仪长期未上传",
                "{device}: not docked for {days} days (last {last_seen})", "device_check"),
    FindingKind("alert_test", Severity.INFO, "测试消息",
                "test message from {dock}: this channel reaches its readers"),
    # Evidence and case file
    FindingKind("evidence_missing_proves", Severity.WARNING, "证明对象未填写",
                "recording {recording_id} in case {case_no}: 证明对象 is not filled in",
                "evidence_metadata"),
    FindingKind("proves_missing_stored", Severity.WARNING, "未附记证明对象",
                "recording {recording_id}: stored without 证明对象", "evidence_metadata"),
    FindingKind("evidence_disc_missing", Severity.WARNING, "证据未刻盘入卷",
                "recording {recording_id} in case {case_no}: no disc holds it with its 证明对象 (due {due})",
                "evidence_disc"),
    FindingKind("long_term_not_on_medium", Severity.WARNING, "长期保存未刻盘",
                "recording {recording_id} ({category}): kept long-term but on no disc image (光盘 or removable "
                "medium)", "long_term"),
    FindingKind("maker_unknown", Severity.WARNING, "制作人不明",
                "recording {recording_id}: no officer known for it, so 制作人 is blank",
                "evidence_metadata"),
    FindingKind("case_archive_overdue", Severity.ERROR, "案件逾期未归档",
                "case {case_no}: archive deadline {deadline} passed with {missing_proves} recording(s) missing "
                "证明对象 and {not_exported} not exported", "archive"),
]

# Refusals of an explanation (中断说明, 书面说明): what the officer chose stays on the form.
_KINDS += [
    FindingKind("explain_reason_missing", Severity.WARNING, "未选择中断原因",
                "choose the reason recording stopped", "interruption_reason"),
    FindingKind("explain_reason_unknown", Severity.WARNING, "未知的中断原因",
                "unknown reason {reason!r} (one of: {choices})", "interruption_reason"),
    FindingKind("explain_one_way", Severity.WARNING, "说明方式不明",
                "give one way of explaining: the second of the following clip where the reason is said, or a "
                "written note", "interruption_reason"),
    FindingKind("explain_voice_unmarked", Severity.WARNING, "未标记语音说明位置",
                "explained by voice, but no second of the clip was marked: play the clip and mark where the "
                "reason is said", "interruption_reason"),
    FindingKind("explain_voice_outside", Severity.WARNING, "语音说明位置不在视频内",
                "second {at} is outside the following clip (0 to {duration} s)", "interruption_reason"),
    FindingKind("explain_no_clip", Severity.WARNING, "无后续视频",
                "interruption {gap} has no following clip to point into: explain it in writing",
                "interruption_reason"),
    FindingKind("explain_needs_note", Severity.WARNING, "须书面说明",
                "the reason other (其他) needs a written note saying what happened", "interruption_reason"),
    FindingKind("explain_note_empty", Severity.WARNING, "书面说明为空",
                "the written note is empty: say in writing what happened"),
    FindingKind("explain_note_long", Severity.WARNING, "书面说明过长",
                "the written note is {length} characters; at most {limit}"),
    FindingKind("gap_unknown", Severity.WARNING, "中断不存在", "no interruption with id {gap}"),
    FindingKind("gap_already_explained", Severity.WARNING, "中断已说明",
                "interruption {gap} is already explained ({reason}, by {by} at {at}); explanations are never "
                "replaced", "interruption_reason"),
    FindingKind("gap_superseded", Severity.WARNING, "中断已不存在",
                "interruption {gap} no longer exists: a later dock filled the timeline in"),
    FindingKind("gap_explained_meanwhile", Severity.WARNING, "中断刚被说明",
                "interruption {gap} was explained by someone else just now"),
    FindingKind("incident_unknown", Severity.WARNING, "事件不存在", "no incident with id {incident}"),
    # Refusals of what 法制科 names (a case's recordings) and exports.
    FindingKind("recording_not_named", Severity.WARNING, "找不到记录",
                "no recording has the id, file name or time {what!r}"),
    FindingKind("recording_named_twice", Severity.WARNING, "记录不唯一",
                "{what!r} names {n} recordings ({which}): put the camera's serial before the file name"),
    FindingKind("export_missing_proves", Severity.WARNING, "证明对象未填写",
                "{n} recording(s) of case {case_no} have no 证明对象: enter it, or confirm the export without it",
                "evidence_metadata"),
    # The duty roster's problems, row by row and for the file: every one a line in both languages.
    FindingKind("roster_formula", Severity.WARNING, "公式没有保存结果",
                "row {row}, column {column}: the formula {formula!r} has no saved value: open the file in a "
                "spreadsheet program, let it calculate, and save it"),
    FindingKind("roster_badge_number", Severity.WARNING, "警号被存成数字",
                "row {row}, column {column}: {value} is a number in the spreadsheet: format the column as text so "
                "that leading zeros are kept"),
    FindingKind("roster_start_off_day", Severity.WARNING, "开始时间不在当天",
                "row {row}, column {column}: {start} is not on the row's date {day}"),
    FindingKind("roster_end_before_start", Severity.WARNING, "结束早于开始",
                "row {row}, column {column}: the shift ends ({end}) before it starts"),
    FindingKind("roster_zero_length", Severity.WARNING, "开始与结束相同",
                "row {row}, column {column}: the shift starts and ends at the same time: give a 24-hour shift's "
                "end with its date"),
    FindingKind("roster_too_long", Severity.WARNING, "班次过长",
                "row {row}, column {column}: the shift is longer than 72 hours"),
    FindingKind("roster_assignment_unknown", Severity.WARNING, "任务类型不明",
                "row {row}, column {column}: {value!r} is not one of 常规/连续工作/异地执法/偏远地区"),
    FindingKind("roster_return_before_start", Severity.WARNING, "返回早于开始",
                "row {row}, column {column}: the return is before the shift starts"),
    FindingKind("roster_overlap", Severity.WARNING, "班次重叠",
                "row {row}, column 班次开始: overlaps the shift in row {other} for badge {badge}"),
    FindingKind("roster_cell_empty", Severity.WARNING, "空白",
                "row {row}, column {column}: empty"),
    FindingKind("roster_not_date", Severity.WARNING, "不是日期",
                "row {row}, column {column}: {value!r} is not a date"),
    FindingKind("roster_not_time", Severity.WARNING, "不是时间",
                "row {row}, column {column}: {value!r} is not a time"),
    FindingKind("roster_problems", Severity.WARNING, "排班表有错误",
                "roster {file}: {first}{more}; nothing was imported"),
    FindingKind("roster_unknown_column", Severity.WARNING, "未知的列",
                "roster {file}: row 1: unknown column {name!r}"),
    FindingKind("roster_column_twice", Severity.WARNING, "列重复",
                "roster {file}: row 1: column {name!r} appears twice"),
    FindingKind("roster_column_missing", Severity.WARNING, "缺少列",
                "roster {file}: row 1: missing column {zh}/{key}"),
    FindingKind("roster_file_type", Severity.WARNING, "文件类型不支持",
                "roster {file}: unsupported file type {suffix} (use .csv or .xlsx)"),
    FindingKind("roster_file_empty", Severity.WARNING, "文件为空",
                "roster {file}: the file is empty"),
    FindingKind("roster_no_shifts", Severity.WARNING, "没有班次",
                "roster {file}: no shifts in the file"),
    FindingKind("roster_encoding", Severity.WARNING, "编码不对",
                "roster {file}: not UTF-8 or GB18030 text"),
    FindingKind("roster_not_xlsx", Severity.WARNING, "无法读取表格",
                "roster {file}: not a readable XLSX workbook ({error})"),
    FindingKind("roster_too_big", Severity.WARNING, "文件过大",
                "roster {file}: larger than {mb} MB"),
    FindingKind("roster_no_file", Severity.WARNING, "未选择文件",
                "choose a roster file (.csv or .xlsx)"),
    # Refusals of a user's details (信息中心 adding people).
    FindingKind("team_unknown", Severity.WARNING, "执法队不存在",
                "no team {team!r} on the roster or among users (teams: {teams})"),
    FindingKind("user_mobile_bad", Severity.WARNING, "手机号格式不对", "not a mobile number: {mobile}"),
    FindingKind("user_email_bad", Severity.WARNING, "邮箱格式不对", "not an e-mail address: {email}"),
    # Refusals of what a team head does to a shift (an excuse, a reminder, a trip's return).
    FindingKind("first_admin_exists", Severity.WARNING, "管理员已设置",
                "the first administrator has already been set; sign in instead"),
    # Only the unit's cameras (ingestd.camera_admission)
    FindingKind("usb_not_a_camera", Severity.ERROR, "非本单位记录仪",
                "{dock}: a USB device that is not a camera of this unit was plugged in ({device}); it was not "
                "mounted and nothing was read from or written to it"),
    FindingKind("camera_unregistered", Severity.WARNING, "记录仪未登记",
                "{dock}: camera {device} ({family}) is not registered in this unit and was not mounted; an admin "
                "registers it on the cameras page (or `ingestd devices register`), then it is taken"),
    FindingKind("camera_serial_bad", Severity.WARNING, "记录仪编号无效",
                "{serial!r} is not a camera serial: 1 to {limit} printable characters"),
    FindingKind("camera_profile_unknown", Severity.WARNING, "记录仪型号未知",
                "no device profile {profile!r}; known: {known}"),
    FindingKind("camera_already_registered", Severity.WARNING, "记录仪已登记",
                "camera {serial} is already registered"),
    FindingKind("camera_owner_unknown", Severity.WARNING, "使用人不存在",
                "no officer with badge {badge} (import the roster first)"),
    FindingKind("shift_unknown", Severity.WARNING, "班次不存在", "no rostered shift of {badge} on {day}"),
    FindingKind("shift_not_overdue", Severity.WARNING, "班次未逾期",
                "the shift of {badge} on {day} is {status}, not overdue: only an overdue shift is excused or "
                "reminded", "upload"),
    FindingKind("shift_not_theirs", Severity.WARNING, "无权处理该班次",
                "user {by} may not act on a shift of team {team}"),
    FindingKind("excuse_reason_empty", Severity.WARNING, "未写明原因",
                "the reason is empty: say why the camera was not docked in time", "upload"),
    FindingKind("remind_too_soon", Severity.WARNING, "刚提醒过",
                "{officer} was reminded at {at}; remind again after {next}"),
    FindingKind("remind_no_channel", Severity.WARNING, "未配置提醒通道",
                "no alert channel is configured ([alerts] channels): a reminder would reach nobody"),
    FindingKind("return_not_trip", Severity.WARNING, "不是出差班次",
                "the shift of {badge} on {day} is not 连续工作/异地执法/偏远地区: it has no return time", "upload"),
    FindingKind("return_time_bad", Severity.WARNING, "返回时间格式不对",
                "not a time (YYYY-MM-DD HH:MM): {value}"),
    FindingKind("return_before_trip", Severity.WARNING, "返回时间早于出差",
                "the return {returned} is before the trip began ({start})", "upload"),
    FindingKind("return_in_future", Severity.WARNING, "返回时间在将来",
                "the return {returned} is later than now: enter it once the officer is back", "upload"),
    FindingKind("incident_already_explained", Severity.WARNING, "事件已说明",
                "incident {incident} is already explained (by {by} at {at}); an explanation is never replaced",
                "damaged_file"),
]

CATALOGUE: dict[str, FindingKind] = {k.code: k for k in _KINDS}

# Their names in an English console (the Chinese ones are the kinds' own labels).
LABELS_EN: dict[str, str] = {
    "damaged_file": "Damaged or unreadable file",
    "check_failed": "Structural check not finished",
    "recording_recovered": "Recovered from a damaged file",
    "recording_recovered_skipping": "Partly recovered from a damaged file",
    "recovery_waiting": "Waiting to be recovered",
    "nothing_recovered": "Nothing could be recovered",
    "recovery_failed": "Recovery failed",
    "duplicate_content": "Duplicate file",
    "already_ingested": "Already stored",
    "name_conflict": "Same name, other content",
    "skipped_symlink": "Symbolic link skipped",
    "skipped_special": "Special file skipped",
    "skipped_not_media": "Not a recording",
    "read_failed": "Could not be read",
    "verify_mismatch": "Copy does not match",
    "disk_full": "Store full",
    "changed_during_copy": "Changed while copied",
    "store_write_failed": "Store write failed",
    "fixity_changed": "Original changed",
    "fixity_missing": "Original missing",
    "object_invalid": "Store object invalid",
    "store_foreign": "Foreign file in the store",
    "replica_lagging": "Replica not confirmed in time",
    "replica_incomplete": "Replica object incomplete",
    "replica_not_locked": "Replica file not locked",
    "replica_version_gone": "Replica version missing",
    "replica_mismatch": "Replica does not match",
    "replica_overwritten": "Replica overwritten",
    "replica_delete_marker": "Replica hidden by a delete marker",
    "replica_copy_missing": "Replica file missing",
    "replica_copy_changed": "Replica file changed",
    "replica_copy_unreadable": "Replica file unreadable",
    "eviction_refused": "Original kept on the disk",
    "store_filling": "Store filling up",
    "store_filling_urgent": "Store nearly full",
    "object_unindexed": "Store object not indexed",
    "index_orphan": "Index entry without object",
    "device_mismatch": "Camera identity does not match",
    "storage_nearly_full": "Camera storage nearly full",
    "open_interruption": "Unexplained interruptions",
    "interruption_found": "Interruption found",
    "camera_holds_stored": "Camera still holds stored recordings",
    "dock_clock_off": "Dock clock wrong",
    "first_admin_exists": "Administrator already set",
    "usb_not_a_camera": "Not a camera of this unit",
    "camera_unregistered": "Camera not registered",
    "camera_serial_bad": "Camera serial not valid",
    "camera_profile_unknown": "Camera family unknown",
    "camera_already_registered": "Camera already registered",
    "camera_owner_unknown": "No such officer",
    "clock_unsynchronised": "Clock not synchronised",
    "clock_sync_unknown": "Clock sync unknown",
    "clock_stepped": "Clock stepped",
    "store_unusable": "Store unusable",
    "database_unreachable": "Database unreachable",
    "database_damaged": "Database damaged",
    "schema_behind": "Database schema behind",
    "system_rule_missing": "System rule missing",
    "inbox_unusable": "Inbox unusable",
    "replica_unreachable": "Replica unreachable",
    "kiosk_not_running": "Dock screen not running",
    "signing_key_exposed": "Signing key exposed",
    "clock_reset": "Camera clock reset",
    "clock_drift": "Camera clock drifts",
    "audit_tampered": "Audit trail tampered with",
    "late_upload": "Late uploads",
    "shift_overdue": "Overdue shifts",
    "shift_excused": "Excused shifts",
    "shift_reminded": "Reminder to upload",
    "deadline_near": "Deadline near",
    "shift_no_recording": "Shifts without recordings",
    "off_duty_recording": "Off-duty recordings",
    "incident_open": "Open incident",
    "camera_roster_conflict": "Roster and camera owner differ",
    "camera_not_docked": "Camera not docked for long",
    "alert_test": "Test message",
    "evidence_missing_proves": "证明对象 missing",
    "proves_missing_stored": "Stored without 证明对象",
    "evidence_disc_missing": "Not on a case disc",
    "long_term_not_on_medium": "Long-term but on no disc",
    "maker_unknown": "制作人 unknown",
    "case_archive_overdue": "Cases overdue for archiving",
}

# The same messages in Chinese, for the report, the alerts and the web console; the
# English ones above are for logs and the command line.
MESSAGES_ZH: dict[str, str] = {
    "damaged_file": "{path}：已按原样保存，但文件损坏无法解析（{reason}）",
    "check_failed": "{path}：已按原样保存；结构检查本身出错（{reason}），将在接入后重新检查，不因此判为损坏",
    "recording_recovered": "{path}：已从损坏的原始文件恢复视频 {video}、音频 {audio}（原始文件保持原样）；文件在录制中途截断",
    "recording_recovered_skipping": "{path}：已从损坏的原始文件恢复视频 {video}、音频 {audio}（原始文件保持原样）；"
                                    "其中 {skipped} 无法读取，已跳过",
    "recovery_waiting": "{path}：该记录仪尚无完好的录像可作参照，待其下次接入后恢复",
    "nothing_recovered": "{path}：损坏的数据中未能恢复出任何画面（{reason}）",
    "recovery_failed": "{path}：恢复失败（{reason}），已列入待人工处理的任务",
    "duplicate_content": "{path}：与记录 {recording_id} 内容相同，不重复保存",
    "already_ingested": "{path}：已从该记录仪入库（记录 {recording_id}）",
    "name_conflict": "{path}：该记录仪另有同名但内容不同的记录，两者均已保存",
    "skipped_symlink": "{path}：记录仪上的符号链接，未跟随",
    "skipped_special": "{path}：不是普通文件（{kind}），未读取",
    "skipped_not_media": "{path}：不是本设备配置所收的音像文件（{reason}）",
    "read_failed": "{path}：无法从记录仪读取（{reason}），未保存，下次接入时重试",
    "verify_mismatch": "{path}：写入后重读校验不一致，未保存",
    "store_write_failed": "{path}：无法写入存储（{reason}），未保存",
    "changed_during_copy": "{path}：复制过程中文件发生变化（{reason}），未保存，下次接入时完整导入",
    "disk_full": "{where}：接入会话 {session} 期间磁盘已满，未记录的文件留在记录仪上，下次接入时导入",
    "fixity_changed": "{object_id}：{path} 的摘要与入库时不一致",
    "fixity_missing": "{object_id}：{path} 在存储中缺失",
    "object_invalid": "{object_id}：{reason}",
    "replica_incomplete": "{object_id}：副本存储中没有其根清单（上传中断），未恢复；由采集它的采集站下次 "
                          "`ingestd replica sync` 时补齐",
    "replica_not_locked": "{object_id}：{key} 在副本存储中没有合规模式锁定的版本（均非采集站所写），该对象未恢复",
    "replica_version_gone": "{object_id}：采集站确认过的 {key} 版本 {version_id} 已不在副本存储中，该对象未恢复",
    "replica_mismatch": "{object_id}：副本存储中 {key} 的各版本内容均与对象清单及标识不符，该对象未恢复",
    "replica_overwritten": "{key}：副本存储中另有一个非采集站所写的版本（{version_id}），已恢复采集站所写的原版本；"
                           "有人使用存储密钥写入了它",
    "replica_delete_marker": "{key}：锁定的原版本被删除标记遮盖，已恢复原版本；有人使用存储密钥删除了它",
    "replica_copy_missing": "记录 {recording_id:.12}：副本中的 {key} 已不是采集站所写的样子（缺失或不再锁定）",
    "replica_copy_changed": "记录 {recording_id:.12}：从副本存储回读的 {key} 与采集站确认的 SHA-256 不一致",
    "replica_copy_unreadable": "记录 {recording_id:.12}：副本存储能查到 {key}，却无法读出其内容（校验自身数据的存储服务会拒绝提供被改动的文件）",
    "eviction_refused": "记录 {recording_id:.12} 保留在本地：{why_zh}",
    "store_filling": "{path}：按近 30 天的采集量（每天 {per_day_gb} GB），磁盘将在 {days} 天后达到保留空间下限（{why_zh}）",
    "store_filling_urgent": "{path}：按近 30 天的采集量（每天 {per_day_gb} GB），磁盘将在 {days} 天后达到保留空间下限"
                            "（{why_zh}）；届时将拒绝接入",
    "object_unindexed": "{object_id}：在存储中但不在数据库中（请运行 `ingestd store rebuild-index`）",
    "replica_lagging": "{count} 条音像记录采集后 {limit} 小时内未在副本存储 {bucket} 中确认（最久 {oldest_h} 小时），在此之前证据只有一份",
    "store_foreign": "{path}：位于存储根目录中但不属于存储，应移出",
    "index_orphan": "记录 {recording_id}：在数据库中但存储中没有其对象",
    "device_mismatch": "{device}：识别为 {profile}，但 {problems}；已导出并标记待核查",
    "storage_nearly_full": "{device}：接入时存储已用 {fill:.0%}",
    "open_interruption": "中断 {gap}：{device} 自 {start} 起 {seconds:.0f} 秒未记录，{found} 接入时发现，需说明原因",
    "interruption_found": "中断 {gap}：{device} 自 {start} 起 {seconds:.0f} 秒未记录，{found} 接入时发现，需说明原因。"
                          "确实无法继续记录的，执法人员应当在现场立即向{report_to}报告；本系统在记录仪接入时才能发现中断",
    "dock_clock_off": "{dock}：采集站时钟比{against_zh}时钟{offset_zh}；校正之前，其记录的入库时间及据此判定的按时或超时不可信",
    "clock_unsynchronised": "系统时钟未同步（时间同步{ntp_zh}）：入库时间和记录仪时钟校正都以它为准；请开启时间同步"
                            "（`timedatectl set-ntp true`）并确保能连到时间服务器",
    "clock_sync_unknown": "无法确认系统时钟是否同步（`timedatectl` 无法回答）；请用 `systemd-timesyncd` 或 `chrony` 校时",
    "clock_stepped": "{dock}：系统时钟于 {at} 跳变{step_zh}；请核对前后记录的入库时间",
    "store_unusable": "`{path}`：存储不可用（{reason_zh}）；请检查磁盘已挂载且属于运行 ingestd 的用户",
    "database_unreachable": "`{database}`：无法连接数据库（`{reason}`）",
    "database_damaged": "`{database}`：数据库文件已损坏；请停止 ingestd，将文件移开，放回备份（`var/backups`），或运行 "
                        "`ingestd db upgrade` 后再运行 `ingestd store rebuild-index` 重建索引",
    "schema_behind": "`{database}`：数据库结构版本为 {schema}，本版本需要 {needs}：请运行 `ingestd db upgrade`",
    "system_rule_missing": "`{path}`：{what_zh}{state_zh}；请重新安装 ingestd 软件包",
    "inbox_unusable": "`{path}`：收件夹{reason_zh}；放入的文件不会被采集",
    "replica_unreachable": "{bucket}：无法连接副本存储（`{reason}`）；副本暂缓，原始文件不会移出本地磁盘",
    "kiosk_not_running": "`{unit}` 的状态为 `{state}`：采集站屏幕无显示；请运行 `systemctl restart {unit}`",
    "signing_key_exposed": "`{path}`：审计签名密钥{reason_zh}；只应由运行 ingestd 的用户读取（chmod 600）",
    "clock_reset": "{device}：文件时间接近 1970/2000/2080 年，已按序号排序",
    "camera_holds_stored": "{device}：仍留存 {files} 个已上传的记录（最早制作于 {oldest}），应按规定从记录仪清除（不得自行保管）",
    "clock_drift": "{device}：记录仪时钟每天漂移 {drift} 秒（超过 3 秒）",
    "audit_tampered": "审计记录 {seq}（节点 {node} 的审计链）：{reason}",
    "late_upload": "{officer_name}（{officer}）的记录 {recording_id:.12}：期限 {deadline}，逾期 {late_by} 上传",
    "shift_overdue": "{officer_name}（{officer}，{team}）{day} 班次：记录仪 {camera} 未上传，期限 {deadline} 已过",
    "shift_excused": "{officer_name}（{officer}，{team}）{day} 班次：记录仪 {camera} 未按期上传（期限 {deadline}），"
                     "{by_name} 说明原因：{reason}",
    "shift_reminded": "{by_name} 提醒 {officer_name}（{officer}）：{day} 班次的记录仪 {camera} 已逾期（期限 {deadline}），"
                      "请尽快接入采集站上传",
    "deadline_near": "{officer_name}（{officer}，{team}）{day} 班次：记录仪 {camera} 尚未上传，期限 {deadline}",
    "shift_no_recording": "{officer_name}（{officer}，{team}）{day} 班次：记录仪 {camera} 无当班记录",
    "off_duty_recording": "{officer_name}（{officer}）的记录 {recording_id:.12} 制作于排班时间以外，请核查用途",
    "incident_open": "记录 {recording_id:.12}（{file}）：{incident_label}（事件 {incident_id}）尚待书面说明",
    "camera_not_docked": "{device}：已 {days} 天未接入上传（最后 {last_seen}）",
    "camera_roster_conflict": "{device}：排班表 {count} 个班次将其分配给 {officers}，登记使用人为 {owner}；"
                              "这些班次内的记录以排班表确定制作人，请核对",
    "evidence_missing_proves": "案件 {case_no} 的记录 {recording_id:.12}：证明对象未填写",
    "alert_test": "来自 {dock} 的测试消息：此通道可以送达",
    "maker_unknown": "记录 {recording_id:.12}：无法确定制作人",
    "long_term_not_on_medium": "记录 {recording_id:.12}（{category}）：应长期保存，尚未刻录光盘或存入移动存储介质",
    "proves_missing_stored": "记录 {recording_id:.12}：存储时未附记证明对象",
    "evidence_disc_missing": "案件 {case_no} 的记录 {recording_id:.12}：尚无载明证明对象的光盘（应于 {due} 前刻盘入卷）",
    "explain_reason_missing": "请选择中断的原因",
    "explain_reason_unknown": "未知的中断原因 {reason}",
    "explain_one_way": "请选择一种说明方式：在后续视频中标记说明原因的位置（语音说明），或填写书面说明",
    "explain_voice_unmarked": "选择了语音说明，但未标记说明的位置：请播放视频，说到原因时点「在这里说明了」",
    "explain_voice_outside": "第 {at} 秒不在后续视频内（0 至 {duration} 秒）",
    "explain_no_clip": "中断 {gap} 之后没有视频可以标记语音说明，请书面说明",
    "explain_needs_note": "原因为「其他」时，须书面写明发生了什么",
    "explain_note_empty": "书面说明为空：请写明发生了什么",
    "explain_note_long": "书面说明有 {length} 个字，最多 {limit} 个字",
    "gap_unknown": "没有编号为 {gap} 的中断",
    "gap_already_explained": "中断 {gap} 已由 {by} 于 {at} 说明（{reason}），说明不可更改",
    "gap_superseded": "中断 {gap} 已不存在：之后接入的录像补上了这段时间",
    "gap_explained_meanwhile": "中断 {gap} 刚刚已由他人说明",
    "incident_unknown": "没有编号为 {incident} 的事件",
    "incident_already_explained": "事件 {incident} 已由 {by} 于 {at} 书面说明，说明不可更改",
    "recording_not_named": "找不到编号、文件名或时间为「{what}」的记录",
    "recording_named_twice": "「{what}」对应 {n} 个记录（{which}）：请在文件名前加上记录仪编号",
    "export_missing_proves": "案件 {case_no} 有 {n} 个记录未填写证明对象：请先填写，或确认在缺少证明对象的情况下导出",
    "roster_formula": "第 {row} 行「{column}」列：公式 {formula} 没有保存计算结果，请用表格软件打开、计算后再保存",
    "roster_badge_number": "第 {row} 行「{column}」列：{value} 在表格中是数字，请把这一列设为文本格式，以保留开头的 0",
    "roster_start_off_day": "第 {row} 行「{column}」列：{start} 不在本行的日期 {day}",
    "roster_end_before_start": "第 {row} 行「{column}」列：班次结束时间（{end}）早于开始时间",
    "roster_zero_length": "第 {row} 行「{column}」列：班次开始与结束时间相同；24 小时班次请写明结束的日期",
    "roster_too_long": "第 {row} 行「{column}」列：班次超过 72 小时",
    "roster_assignment_unknown": "第 {row} 行「{column}」列：「{value}」不是 常规、连续工作、异地执法、偏远地区 之一",
    "roster_return_before_start": "第 {row} 行「{column}」列：返回单位时间早于班次开始",
    "roster_overlap": "第 {row} 行「班次开始」列：与第 {other} 行警号 {badge} 的班次时间重叠",
    "roster_cell_empty": "第 {row} 行「{column}」列：为空",
    "roster_not_date": "第 {row} 行「{column}」列：「{value}」不是日期",
    "roster_not_time": "第 {row} 行「{column}」列：「{value}」不是时间",
    "roster_problems": "排班表 {file}：{first_zh}{more_zh}；未导入任何内容",
    "roster_unknown_column": "排班表 {file}：第 1 行有未知的列「{name}」",
    "roster_column_twice": "排班表 {file}：第 1 行的列「{name}」出现了两次",
    "roster_column_missing": "排班表 {file}：第 1 行缺少「{zh}」列",
    "roster_file_type": "排班表 {file}：不支持的文件类型 {suffix}（请用 .csv 或 .xlsx）",
    "roster_file_empty": "排班表 {file}：文件是空的",
    "roster_no_shifts": "排班表 {file}：文件中没有班次",
    "roster_encoding": "排班表 {file}：不是 UTF-8 或 GB18030 编码的文本",
    "roster_not_xlsx": "排班表 {file}：无法读取的 XLSX 表格（{error}）",
    "roster_too_big": "排班表 {file}：文件超过 {mb} MB",
    "roster_no_file": "请选择排班表文件（.csv 或 .xlsx）",
    "team_unknown": "没有名为「{team}」的执法队（排班表和现有用户中的执法队：{teams}）",
    "user_mobile_bad": "手机号格式不对：{mobile}",
    "user_email_bad": "邮箱格式不对：{email}",
    "first_admin_exists": "首位管理员已设置，请直接登录",
    "usb_not_a_camera": "{dock}：接入的 USB 设备（{device}）不是本单位的记录仪，未挂载，未读取或写入任何文件",
    "camera_unregistered": "{dock}：记录仪 {device}（{family}）尚未在本单位登记，未挂载；管理员在“记录仪”页面登记后即可采集",
    "camera_serial_bad": "{serial!r} 不是有效的记录仪编号：应为 1 至 {limit} 个可打印字符",
    "camera_profile_unknown": "没有型号配置 {profile!r}；现有：{known}",
    "camera_already_registered": "记录仪 {serial} 已登记",
    "camera_owner_unknown": "没有警号为 {badge} 的执法人员（请先导入排班表）",
    "shift_unknown": "{badge} 在 {day} 没有排班",
    "shift_not_overdue": "{badge} 在 {day} 的班次不是逾期未上传，无需说明原因或提醒",
    "shift_not_theirs": "{by} 不能处理{team}的班次",
    "excuse_reason_empty": "请写明未按期上传的原因",
    "remind_too_soon": "已于 {at} 提醒过 {officer_name}，{next} 之后可再次提醒",
    "remind_no_channel": "尚未配置提醒通道（[alerts] channels），提醒无法送达任何人",
    "return_not_trip": "{badge} 在 {day} 的班次不是连续工作、异地执法或偏远地区执法，没有返回单位时间",
    "return_time_bad": "时间格式不对（应为 年-月-日 时:分）：{value}",
    "return_before_trip": "返回单位时间 {returned} 早于出差开始时间 {start}",
    "return_in_future": "返回单位时间 {returned} 晚于现在：请在执法人员返回后再录入",
    "case_archive_overdue": "案件 {case_no}：归档期限 {deadline} 已过，{missing_proves} 个记录缺证明对象，"
                            "{not_exported} 个未刻盘导出",
}


@dataclass(frozen=True)
class Finding:
    """One instance of a catalogued problem, with the facts its message is built from."""

    code: str
    detail: dict

    def __post_init__(self) -> None:
        if self.code not in CATALOGUE:
            raise KeyError(f"finding code {self.code!r} is not in the catalogue")

    @property
    def kind(self) -> FindingKind:
        return CATALOGUE[self.code]

    def article(self, policy: "Policy | None") -> str | None:
        """The article the policy in force backs this finding's rule with (本单位规定 where
        the unit's regulation states none); None for findings that enforce no rule."""
        return policy.cite(self.kind.rule) if policy is not None else None

    @property
    def message(self) -> str:
        return _format(self.kind.message, self.detail)

    @property
    def message_zh(self) -> str:
        # Times in a sentence read as the unit writes them: 2026-11-20 08:30, not ISO 8601.
        readable = {k: readable_times(v) if isinstance(v, str) else v for k, v in self.detail.items()}
        return _format(MESSAGES_ZH.get(self.code, self.kind.message), readable)

    def as_dict(self, policy: "Policy | None" = None) -> dict:
        kind = self.kind
        return {
            "code": self.code,
            "severity": kind.severity.value,
            "label_zh": kind.label_zh,
            "message": self.message,
            "message_zh": self.message_zh,
            "rule": kind.rule,
            "article": self.article(policy),
            **{k: v for k, v in self.detail.items() if k not in ("code", "message", "message_zh")},
        }


_ISO_TIME = re.compile(r"\b(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)?")


def readable_times(text: str) -> str:
    """ISO 8601 times in a sentence as a person reads them (2026-11-20 08:30): for the console
    and the Chinese messages; logs and the command line keep ISO."""
    return _ISO_TIME.sub(r"\1 \2", text)


def refused(code: str, **detail) -> Refused:
    """The refusal of a request, worded by its finding (ingestd.errors.Refused)."""
    return Refused(Finding(code, detail))


def written(text: str, empty_code: str, limit: int) -> str:
    """A person's written words (a 书面说明, a reason), stripped; empty or longer than `limit`
    refused in the catalogue's words."""
    text = text.strip()
    if not text:
        raise refused(empty_code)
    if len(text) > limit:
        raise refused("explain_note_long", length=len(text), limit=limit)
    return text


def _format(template: str, detail: dict) -> str:
    try:
        return template.format_map(_Lenient(detail))
    except (ValueError, TypeError):  # a detail of an unexpected type: show it plainly rather than fail
        return re.sub(r"\{(\w+)(?:![rsa])?(?::[^}]*)?\}", r"{\1}", template).format_map(_Lenient(detail))


class _Lenient(dict):
    """Formats a message even when a detail is missing, rather than failing the report."""

    def __missing__(self, key: str) -> str:
        return f"<{key}?>"
