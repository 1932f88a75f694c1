"""One translation table for every visible string: zh-CN by default, English on request.

A page picks its language from `?lang=`, then the `lang` cookie, then Accept-Language.
"""

from collections.abc import Mapping
from typing import Final

from starlette.requests import Request

ZH: Final = "zh-CN"
EN: Final = "en"
LANGUAGES: Final = (ZH, EN)

# key → (zh-CN, en). Vocabulary labels use "<kind>.<code>" keys (DOMAIN.md's names).
TEXT: Final[Mapping[str, tuple[str, str]]] = {
    "app.name": ("调解", "tiaojie"),
    "app.tagline": ("小事不出村、大事不出镇、矛盾不上交", "Small matters stay in the village"),
    "nav.operator": ("接线员", "Operator"),
    "nav.mediator": ("调解员", "Mediator"),
    "nav.supervisor": ("督办", "Supervisor"),
    "nav.language": ("English", "中文"),
    "nav.skip": ("跳到正文", "Skip to content"),
    "common.unit": ("辖区", "Jurisdiction"),
    "common.show": ("查看", "Show"),
    "common.delete": ("删除", "Delete"),
    "common.save": ("保存", "Save"),
    "common.case": ("案件", "Case"),
    "common.time": ("时间", "Time"),
    "common.none": ("暂无", "None yet"),
    "common.county_all": ("全县", "Whole county"),
    "state.followed_up": ("协议履行回访", "Agreement followed up"),
    "state.return_visit": ("已回访", "Return visit done"),
    "state.escalated": ("已申请上报", "Escalation requested"),
    "operator.title": ("来电登记", "Record a call"),
    "operator.town": ("乡镇", "Town"),
    "operator.village": ("村（社区）", "Village or community"),
    "operator.choose": ("请选择", "Choose"),
    "operator.grid": ("网格编号（可空）", "Grid id (optional)"),
    "operator.address": (
        "地点描述（不知道村时填写）",
        "Place as spoken (when the village is unknown)",
    ),
    "operator.category": ("纠纷类型", "Dispute type"),
    "operator.description": ("纠纷描述", "What happened"),
    "operator.parties": ("当事人", "Parties"),
    "operator.party_name": ("姓名", "Name"),
    "operator.party_phone": ("电话", "Phone"),
    "operator.party_color": ("户类", "Household colour"),
    "operator.party_kind": ("类别", "Kind"),
    "operator.add_party": ("增加当事人", "Add a party"),
    "operator.people": ("涉及人数", "People involved"),
    "operator.amount": ("涉及金额（元）", "Amount at stake (yuan)"),
    "operator.risks": ("风险情形", "Risk signs"),
    "operator.occurred": ("发生时间", "When it happened"),
    "operator.caller": ("来电人", "Caller"),
    "operator.submit": ("提交", "Submit"),
    "operator.submitted": ("已受理，查询编号：", "Received. Tracking number: "),
    "operator.mine": ("我提交的事项", "My submissions"),
    "operator.tracking": ("查询编号", "Tracking number"),
    "operator.status": ("当前状态", "Status"),
    "operator.unit": ("承办单位", "Handled by"),
    "operator.unknown": ("不详", "Unknown"),
    "operator.failed": ("提交失败，请稍后重试", "Not stored; please try again shortly"),
    "mediator.title": ("调解员工作台", "Mediator desk"),
    "mediator.unit": ("调解组织", "Mediation unit"),
    "mediator.me": ("我是", "I am"),
    "mediator.queue": ("待办案件", "Case queue"),
    "mediator.due": ("剩余时限", "Time left"),
    "mediator.overdue": ("已超期", "Overdue"),
    "mediator.hours": ("小时", "h"),
    "mediator.open": ("打开", "Open"),
    "mediator.empty": ("队列为空", "The queue is empty"),
    "mediator.case": ("案件详情", "Case"),
    "mediator.state": ("状态", "State"),
    "mediator.priority": ("优先级", "Priority"),
    "mediator.description": ("纠纷描述", "What happened"),
    "mediator.parties": ("当事人", "Parties"),
    "mediator.timeline": ("办理经过", "Timeline"),
    "mediator.trace": ("分流依据（为何到这里？）", "Why did it come here?"),
    "mediator.rule": ("规则", "Rule"),
    "mediator.reason": ("理由", "Reason"),
    "mediator.inputs": ("依据数据", "Inputs"),
    "mediator.policy": ("政策版本", "Policy version"),
    "mediator.actions": ("可办理事项", "What you can do now"),
    "mediator.no_actions": ("当前无可办理事项", "Nothing to do on this case now"),
    "action.accept": ("接案", "Accept"),
    "action.hold_session": ("记录调解会", "Record a session"),
    "action.resolve": ("调解成功", "Resolved"),
    "action.fail": ("调解不成", "Failed"),
    "action.refer": ("移交", "Refer"),
    "action.withdraw": ("撤回", "Withdrawn"),
    "action.follow_up": ("履行回访", "Agreement follow-up"),
    "action.visit": ("回访满意度", "Return visit"),
    "field.held_at": ("调解时间", "Held at"),
    "field.participants": ("参加人（逗号分隔）", "Participants (comma separated)"),
    "field.notes": ("记录", "Notes"),
    "field.agreement": ("协议形式", "Agreement"),
    "field.summary": ("协议内容", "Terms agreed"),
    "field.reason": ("原因", "Reason"),
    "field.referred_to": ("移交至", "Referred to"),
    "field.fulfilled": ("协议已履行", "Agreement carried out"),
    "field.satisfaction": ("满意度", "Satisfaction"),
    "agreement.oral": ("口头协议", "Oral"),
    "agreement.written": ("书面协议", "Written"),
    "referral.court": ("法院", "Court"),
    "referral.arbitration": ("仲裁", "Arbitration"),
    "referral.police": ("公安", "Police"),
    "referral.petition_bureau": ("信访部门", "Petition bureau"),
    "satisfaction.satisfied": ("满意", "Satisfied"),
    "satisfaction.basically": ("基本满意", "Basically satisfied"),
    "satisfaction.dissatisfied": ("不满意", "Dissatisfied"),
    "metrics.title": ("调解指标", "Mediation metrics"),
    "metrics.kept": ("不上交率（在起始层级化解）", "Kept at origin"),
    "metrics.resolution": ("调解成功率", "Resolution rate"),
    "metrics.timely": ("及时受理率", "Timely acceptance"),
    "metrics.median": ("化解用时中位数（小时）", "Median hours to resolution"),
    "metrics.p90": ("化解用时90分位（小时）", "p90 hours to resolution"),
    "metrics.escalations": ("各层级升级数", "Escalations by tier"),
    "metrics.backlog": ("在办积压", "Backlog"),
    "metrics.by_unit": ("分单位", "By unit"),
    "metrics.closed": ("已办结", "Closed"),
    "supervisor.title": ("督办控制台", "Supervisor console"),
    "supervisor.live": ("实时预警", "Live alerts"),
    "supervisor.live_hint": (
        "新预警会自动出现，无需刷新。",
        "New alerts appear here without reloading.",
    ),
    "supervisor.metrics_link": ("查看调解指标", "Open the mediation metrics"),
    "supervisor.subscriptions": ("预警订阅", "Alert subscriptions"),
    "supervisor.new_subscription": ("新增订阅", "New subscription"),
    "supervisor.kinds": ("预警类型", "Alert kinds"),
    "supervisor.min_priority": ("最低优先级", "Lowest priority"),
    "supervisor.delivery": ("送达方式", "Delivery"),
    "supervisor.delivery.webhook": ("网络回调（Webhook）", "Webhook"),
    "supervisor.delivery.email": ("电子邮件", "E-mail"),
    "supervisor.delivery.sse": ("控制台实时推送", "Live in the console"),
    "supervisor.url": ("回调地址", "Webhook URL"),
    "supervisor.format": ("消息格式", "Message format"),
    "supervisor.format.json": ("JSON", "JSON"),
    "supervisor.format.wecom": ("企业微信群机器人", "WeChat Work group robot"),
    "supervisor.email": ("收件邮箱", "E-mail address"),
    "supervisor.digest": ("汇总间隔（分钟，可空）", "Digest every N minutes (optional)"),
    "supervisor.name": ("订阅人", "Subscriber"),
    "supervisor.created": ("订阅已保存", "Subscription saved"),
    "supervisor.target": ("送达到", "Delivered to"),
    "category.neighbour": ("邻里纠纷", "Neighbour dispute"),
    "category.family": ("婚姻家庭纠纷", "Marriage and family"),
    "category.inheritance": ("继承纠纷", "Inheritance"),
    "category.housing_site": ("宅基地纠纷", "Housing site"),
    "category.land_boundary": ("土地山林权属纠纷", "Land and forest boundary"),
    "category.land_requisition": ("征地拆迁纠纷", "Land requisition and relocation"),
    "category.wage_arrears": ("劳资纠纷", "Wage arrears"),
    "category.traffic_accident": ("交通事故纠纷", "Traffic accident"),
    "category.medical": ("医疗纠纷", "Medical dispute"),
    "category.contract_debt": ("合同债务纠纷", "Contract and debt"),
    "category.property_management": ("物业纠纷", "Property management"),
    "category.environment": ("环境污染纠纷", "Environmental pollution"),
    "category.consumer": ("消费纠纷", "Consumer dispute"),
    "category.other": ("其他纠纷", "Other"),
    "risk.violence_threat": ("扬言暴力", "Threat of violence"),
    "risk.weapon": ("持械", "Weapon"),
    "risk.self_harm": ("自伤自残倾向", "Self-harm risk"),
    "risk.minor_at_risk": ("未成年人受害风险", "Minor at risk"),
    "risk.criminal_escalation": ("民转刑风险", "Risk of turning criminal"),
    "risk.group_incident": ("群体性事件苗头", "Signs of a group incident"),
    "party.person": ("个人", "Person"),
    "party.household": ("家庭户", "Household"),
    "party.enterprise": ("企业", "Enterprise"),
    "party.collective": ("村组集体", "Village collective"),
    "party.government": ("政府机关", "Government body"),
    "color.green": ("放心户（绿）", "Green household"),
    "color.yellow": ("关心户（黄）", "Yellow household"),
    "color.red": ("连心户（红）", "Red household"),
    "tier.grid": ("网格", "Grid"),
    "tier.village": ("村", "Village"),
    "tier.town": ("镇", "Town"),
    "tier.county": ("县", "County"),
    "state.received": ("已受理", "Received"),
    "state.routed": ("已分流", "Routed"),
    "state.assigned": ("已分派", "Assigned"),
    "state.accepted": ("已接案", "Accepted"),
    "state.in_mediation": ("调解中", "In mediation"),
    "state.resolved": ("调解成功", "Resolved"),
    "state.failed": ("调解不成", "Failed"),
    "state.referred": ("已移交", "Referred"),
    "state.withdrawn": ("已撤回", "Withdrawn"),
    "state.reopened": ("已重启", "Reopened"),
    "alert.escalation": ("案件升级", "Escalation"),
    "alert.deadline_breach": ("超期未办", "Deadline missed"),
    "alert.urgent_risk": ("紧急风险", "Urgent risk"),
    "alert.unit_saturated": ("调解力量饱和", "Unit saturated"),
    "alert.rebound": ("矛盾反弹", "Rebound"),
    "priority.normal": ("一般", "Normal"),
    "priority.elevated": ("关注", "Elevated"),
    "priority.high": ("优先", "High"),
    "priority.urgent": ("紧急", "Urgent"),
    "channel.hotline": ("热线", "Hotline"),
    "channel.wechat": ("微信群", "WeChat group"),
    "channel.grid": ("网格员上报", "Grid report"),
    "channel.petition": ("信访代理", "Petition agent"),
    "channel.open311": ("Open311", "Open311"),
}


class Translator:
    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else ZH
        self._index = LANGUAGES.index(self.language)

    def __call__(self, key: str) -> str:
        """A missing key shows itself, so a forgotten string is seen at once and tested for."""
        entry = TEXT.get(key)
        return entry[self._index] if entry else key

    def label(self, kind: str, code: str) -> str:
        return self(f"{kind}.{code}")

    @property
    def other_language(self) -> str:
        return EN if self.language == ZH else ZH


def pick_language(request: Request) -> str:
    for candidate in (request.query_params.get("lang"), request.cookies.get("lang")):
        if candidate in LANGUAGES:
            return candidate
    return _from_accept_language(request.headers.get("accept-language", ""))


def _from_accept_language(header: str) -> str:
    """The first of zh / en the browser ranks highest; Chinese when it names neither."""
    ranked = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((quality, tag.strip().lower()))
    for _, tag in sorted(ranked, key=lambda item: -item[0]):
        if tag.startswith("zh"):
            return ZH
        if tag.startswith("en"):
            return EN
    return ZH
