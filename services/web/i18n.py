"""One translation table for every visible string: zh-CN by default, English on request.

A page picks its language from `?lang=`, then the `lang` cookie, then Accept-Language.
"""

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, Final

from starlette.requests import Request

from contracts.registry import Unit, in_force

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
    "picker.placeholder": ("输入名称或代码查找", "Type a name or code to find it"),
    "picker.none": ("没有找到", "Nothing found"),
    "state.followed_up": ("协议履行回访", "Agreement followed up"),
    "state.return_visit": ("已回访", "Return visit done"),
    "state.escalated": ("已申请上报", "Escalation requested"),
    "operator.title": ("来电登记", "Record a call"),
    "operator.town": ("乡镇", "Town"),
    "operator.village": ("村（社区）", "Village or community"),
    "operator.choose": ("请选择", "Choose"),
    "operator.grid": ("网格（可空）", "Grid (optional)"),
    "operator.no_grid": ("不指定网格", "No particular grid"),
    "operator.party_village": ("所在村（社区）", "Their village or community"),
    "operator.caller_name": ("来电人姓名", "Caller's name"),
    "operator.caller_phone": ("来电号码", "Caller's phone"),
    "operator.caller_is_party": ("来电人是当事人之一", "The caller is one of the parties"),
    "operator.caller_hint": (
        "来电人信息加密保存，只有登记人可以查看。",
        "Kept sealed: only whoever records the call can open it.",
    ),
    "operator.party_n": ("当事人 {n}", "Party {n}"),
    "operator.lookup": ("按查询编号查进度", "Look up a dispute by its tracking number"),
    "operator.lookup_hint": (
        "来电人回电询问时，本县任何接线员都可查看进度（不显示联系方式）。",
        "When a caller phones back, any operator of the county sees where it stands "
        "(never the contacts).",
    ),
    "operator.lookup_button": ("查询进度", "Look it up"),
    "operator.place": ("发生地", "Where it happened"),
    "operator.not_placed": ("地点待核实", "Place still to be checked"),
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
    "operator.submit": ("登记纠纷", "Record the dispute"),
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
    "action.resolve": ("调解成功", "Resolve"),
    "action.fail": ("标记失败", "Mark failed"),
    "action.refer": ("移交", "Refer"),
    "action.withdraw": ("撤回", "Withdraw"),
    "action.follow_up": ("记录履行回访", "Record follow-up"),
    "action.visit": ("记录回访", "Record return visit"),
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
    "supervisor.gap": (
        "部分较早的预警已无法补发，以下为此刻起的实时预警。",
        "Some earlier alerts can no longer be replayed; alerts from now on follow.",
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
    "supervisor.subscribe": ("订阅预警", "Subscribe"),
    "supervisor.history_hint": (
        "下方先列出本辖区最近 50 条预警，新预警会自动出现在最上方，无需刷新。",
        "The jurisdiction's latest 50 alerts are listed; new ones appear on top without reloading.",
    ),
    "supervisor.secret_once": (
        "这是此订阅的签名密钥。请现在复制保存，它不会再次显示。",
        "This is the subscription's signing secret. Copy it now: it will not be shown again.",
    ),
    "supervisor.copy_secret": ("复制密钥", "Copy the secret"),
    "supervisor.copied": ("已复制", "Copied"),
    "supervisor.secret_done": ("隐藏密钥并刷新列表", "Hide the secret and refresh the list"),
    "supervisor.confirm_delete": (
        "确定删除订阅「{name}」吗？删除后不再送达预警。",
        "Delete the subscription \u201c{name}\u201d? Its alerts will no longer be delivered.",
    ),
    "supervisor.unnamed": ("未命名订阅", "unnamed subscription"),
    "supervisor.delete_failed": ("删除失败，请稍后重试", "Not deleted; please try again shortly"),
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
    "tier.prefecture": ("州（市）", "Prefecture"),
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
    "escalation.failed": ("调解不成", "mediation failed"),
    "escalation.acceptance_deadline_breach": ("超期未受理", "acceptance deadline missed"),
    "escalation.resolution_deadline_breach": ("超期未化解", "resolution deadline missed"),
    "switch.title": ("切换登录身份？", "Switch who is signed in?"),
    "switch.current": ("您当前以 {who} 的身份登录。", "You are signed in as {who}."),
    "switch.offered": (
        "您打开的链接属于另一身份：{who}。",
        "The link you opened is for someone else: {who}.",
    ),
    "switch.confirm": ("切换为 {who}", "Switch to {who}"),
    "switch.keep": ("不切换，继续以 {who} 的身份使用", "Stay signed in as {who}"),
    "nav.users": ("用户管理", "Users"),
    "signin.title": ("登录", "Sign in"),
    "signin.user_name": ("用户名", "User name"),
    "signin.password": ("密码", "Password"),
    "signin.submit": ("登录", "Sign in"),
    "signin.signed_in_as": ("当前用户：{who}", "Signed in as {who}"),
    "signin.signout": ("退出登录", "Sign out"),
    "signin.again": ("请重新登录", "Please sign in again"),
    "users.title": ("用户管理", "Users"),
    "users.create": ("新建用户", "Create a user"),
    "users.user_name": ("用户名", "User name"),
    "users.display_name": ("姓名", "Name"),
    "users.password": ("初始密码", "Initial password"),
    "users.new_password": ("新密码", "New password"),
    "users.role": ("角色", "Role"),
    "users.unit": ("单位", "Unit"),
    "users.mediator": ("调解员编号（仅调解员）", "Mediator id (mediators only)"),
    "users.no_mediator": ("（不是调解员）", "(not a mediator)"),
    "users.subject": ("身份编号", "Acts as"),
    "users.state": ("状态", "State"),
    "users.enabled": ("正常", "Active"),
    "users.disabled": ("已停用", "Disabled"),
    "users.reset": ("重置密码", "Reset password"),
    "users.disable": ("停用", "Disable"),
    "users.enable": ("重新启用", "Enable again"),
    "users.created": ("已新建用户 {user_name}", "User {user_name} created"),
    "users.password_reset": ("已重置 {user_name} 的密码", "Password of {user_name} reset"),
    "users.was_disabled": ("已停用用户 {user_name}", "User {user_name} disabled"),
    "users.was_enabled": ("已重新启用用户 {user_name}", "User {user_name} enabled again"),
    "role.operator": ("接线员", "operator"),
    "role.grid_worker": ("网格员", "grid worker"),
    "role.petition_agent": ("信访代理员", "petition agent"),
    "role.mediator": ("调解员", "mediator"),
    "role.supervisor": ("督办人员", "supervisor"),
    "role.admin": ("管理员", "administrator"),
    "action.change": ("办理", "Change"),
    "timeline.assigned": ("分派至调解组织", "Assigned"),
    "timeline.accepted": ("接案", "Accepted"),
    "timeline.session_held": ("召开调解会", "Session held"),
    "timeline.resolved": ("调解成功", "Resolved"),
    "timeline.failed": ("调解不成", "Failed"),
    "timeline.escalation_requested": ("申请移交上一级", "Escalation requested"),
    "timeline.referred": ("移交", "Referred"),
    "timeline.withdrawn": ("撤回", "Withdrawn"),
    "timeline.agreement_followed_up": ("协议履行回访", "Agreement followed up"),
    "timeline.return_visit": ("回访", "Return visit"),
    "timeline.reopened": ("纠纷反弹，重新办理", "Reopened after a rebound"),
    # The rule a routing step names, and the facts it recorded (the case page's trace).
    "rule.cross_town": ("跨镇", "cross-town"),
    "rule.county_amount": ("县级：标的额", "county: amount"),
    "rule.county_people": ("县级：涉及人数", "county: people involved"),
    "rule.county_risk_flag": ("县级：风险标记", "county: risk flag"),
    "rule.county_party_kind": ("县级：当事人类型", "county: kind of party"),
    "rule.county_category": ("县级：纠纷类别", "county: category"),
    "rule.cross_village": ("跨村", "cross-village"),
    "rule.town_amount": ("镇级：标的额", "town: amount"),
    "rule.town_people": ("镇级：涉及人数", "town: people involved"),
    "rule.town_category": ("镇级：纠纷类别", "town: category"),
    "rule.rebound": ("反弹", "rebound"),
    "rule.unknown_location": ("地点不明", "place unknown"),
    "rule.village_default": ("默认：村级", "default: village"),
    "rule.escalated_from_village": ("由村级上交", "escalated from the village"),
    "rule.escalated_from_town": ("由镇级上交", "escalated from the town"),
    "input.village_id": ("所报村", "village reported"),
    "input.grid_id": ("网格", "grid"),
    "input.place": ("发生地", "place"),
    "input.party_villages": ("当事人所在村", "parties' villages"),
    "input.towns": ("涉及镇", "towns"),
    "input.category": ("类别", "category"),
    "input.amount_yuan": ("标的额（元）", "amount (yuan)"),
    "input.people_involved": ("涉及人数", "people involved"),
    "input.risk_flags": ("风险标记", "risk flags"),
    "input.party_kinds": ("当事人类型", "kinds of party"),
    "input.household_colors": ("户色", "household colours"),
    "input.needs_triage": ("需甄别", "needs triage"),
    "input.matched": ("符合的规则", "rules matched"),
    "input.reported_at": ("上报时间", "reported at"),
    "input.rebound_of": ("反弹自", "rebound of"),
    "input.rebound_resolved_tier": ("原化解层级", "tier that resolved it"),
    "input.rebound_reports": ("反弹次数", "rebound reports"),
    "input.mediator_loads": ("调解员在办案件", "mediators' open cases"),
    "input.mediator_id": ("调解员", "mediator"),
    "input.saturated": ("已饱和", "saturated"),
    "input.escalation_reason": ("上交原因", "escalation reason"),
    "input.from_tier": ("原层级", "from tier"),
    "input.from_unit_id": ("原单位", "from unit"),
    "input.escalated_routing_seq": ("上交前的分派序号", "routing escalated from"),
    "input.requested_at": ("请求时间", "requested at"),
    "bool.true": ("是", "yes"),
    "bool.false": ("否", "no"),
    "list.sep": ("、", ", "),
    "list.empty": ("无", "none"),
    "refused.title": ("无法显示此页", "This page cannot be shown"),
    # Sentences with facts: `{name}` shows a parameter, `{name:kind}` words it as `<kind>.<value>`.
    # Routing reasons (contracts.vocabulary.RoutingReason); the English is also the API's `reason`.
    "route.cross_county": (
        "当事人分属不同县（{counties}），由{tier:tier}级调解",
        "parties live in different counties ({counties}): {tier:tier}",
    ),
    "route.cross_town": (
        "当事人分属不同乡镇（{towns}），由{tier:tier}级调解",
        "parties live in different towns ({towns}): {tier:tier}",
    ),
    "route.cross_village": (
        "当事人分属同一乡镇的不同村（{villages}），由{tier:tier}级调解",
        "parties live in different villages of one town ({villages}): {tier:tier}",
    ),
    "route.amount": (
        "涉及金额¥{amount_yuan}，不低于¥{limit}，由{tier:tier}级调解",
        "amount at stake ¥{amount_yuan} ≥ ¥{limit}: {tier}",
    ),
    "route.people": (
        "涉及{people_involved}人，不少于{limit}人，由{tier:tier}级调解",
        "{people_involved} people involved ≥ {limit}: {tier}",
    ),
    "route.risk_flag": (
        "存在风险情形（{risk_flags:risk}），属{tier:tier}级事项",
        "risk flag {risk_flags} is a {tier} matter: {tier}",
    ),
    "route.party_kind": (
        "当事人包括{party_kinds:party}，由{tier:tier}级调解",
        "a party is a {party_kinds} body: {tier}",
    ),
    "route.category": (
        "{category:category}属{tier:tier}级事项",
        "category {category} is a {tier} matter: {tier}",
    ),
    "route.rebound": (
        "案件 {resolved_case_id} 在{resolved_tier:tier}级化解后，{window_days}天内被再次反映"
        "{reports}次，由{tier:tier}级调解",
        "re-reported {reports} times within {window_days} days after {resolved_case_id} was "
        "resolved at {resolved_tier} tier: {tier}",
    ),
    "route.place_unclear": (
        "地点不明，需要甄别：由县级受理窗口分办",
        "place unclear, needs triage: the county desk triages",
    ),
    "route.place_not_found": (
        "未找到发生地：由县级受理窗口分办",
        "place not found: the county desk triages",
    ),
    "route.village_default": (
        "不符合镇级或县级条件：由发生地所在村调解",
        "no town or county condition matched: the village where it happened mediates",
    ),
    "route.escalated": (
        "{from_tier:tier}级{escalation_reason:escalation}，上移一级",
        "{escalation_reason:escalation} at {from_tier} tier: one tier up",
    ),
    # Alert titles (contracts.vocabulary.AlertTitle), over the alert's details.
    "alert_title.escalated": (
        "案件因{reason:escalation}升级至{to_tier:tier}级",
        "Case moved up to the {to_tier} tier: {reason:escalation}",
    ),
    "alert_title.escalated_at_top": (
        "{from_tier:tier}级{reason:escalation}，已无上级可移交",
        "{from_tier:tier} tier, {reason:escalation}: no higher tier to hand it to",
    ),
    "alert_title.acceptance_missed": ("案件超期未受理", "Acceptance deadline missed"),
    "alert_title.resolution_missed": ("案件超期未化解", "Resolution deadline missed"),
    "alert_title.urgent_risk": (
        "紧急风险案件：{risk_flags:risk}",
        "Urgent risk: {risk_flags:risk}",
    ),
    "alert_title.unit_saturated": (
        "调解员案件已满（每人至多{max_open_cases_per_mediator}件），案件仍留本级",
        "Every mediator of the unit is full (at most {max_open_cases_per_mediator} cases "
        "each); the case stays here",
    ),
    "alert_title.rebound": (
        "纠纷反弹：已化解案件被再次反映",
        "Rebound: a resolved case was reported again",
    ),
    # Refusals (services.errors.Refusal), over the body's `params`.
    "error.missing_token": ("请先登录：缺少访问令牌", "Sign in first: no access token"),
    "error.invalid_token": (
        "访问令牌无效，请重新登录",
        "The access token is not valid; sign in again",
    ),
    "error.token_expired": (
        "访问令牌已过期，请重新登录",
        "The access token has expired; sign in again",
    ),
    "error.unknown_key": (
        "访问令牌的签名密钥未知，请重新登录",
        "The access token was signed with an unknown key; sign in again",
    ),
    "error.bad_signature": ("请求签名缺失或错误", "Missing or wrong request signature"),
    "error.switch_identity": (
        "您已以 {current} 的身份登录，链接属于 {offered}",
        "Signed in as {current}; the link is for {offered}",
    ),
    "error.cross_site": (
        "只有本控制台的页面可以切换登录身份",
        "Only this console's own pages may switch who is signed in",
    ),
    "error.session_ended": (
        "登录已失效（账户已停用或密码已重置），请重新登录",
        "Your session has ended (account disabled or password reset); sign in again",
    ),
    "error.wrong_credentials": ("用户名或密码错误", "Wrong user name or password"),
    "error.user_not_found": ("没有用户 {user_name}", "No user {user_name}"),
    "error.unknown_unit": (
        "访问令牌所属单位 {unit_id} 不在辖区名录中",
        "The token's unit {unit_id} is not in the registry",
    ),
    "error.mediator_not_listed": (
        "{mediator_id} 不在 {unit_id} 的调解员名单中",
        "{mediator_id} is not a mediator of {unit_id}",
    ),
    "error.read_outside_unit": (
        "{role:role}（{unit_id}）无权查看 {target} 的信息",
        "A {role:role} of {unit_id} may not read {target}",
    ),
    "error.act_outside_unit": (
        "{role:role}（{unit_id}）无权办理 {target} 的案件",
        "A {role:role} of {unit_id} may not act on cases of {target}",
    ),
    "error.role_not_allowed": (
        "{role:role}无权进行此操作，仅限{allowed_roles:role}",
        "A {role:role} may not do this; only: {allowed_roles:role}",
    ),
    "error.acting_as_other": (
        "当前登录身份为 {subject}，不能以 {mediator_id} 的名义办理",
        "Signed in as {subject}: may not act as {mediator_id}",
    ),
    "error.not_assigned": (
        "该案件由 {assigned_to} 承办，只有承办人可查看联系方式",
        "The case is assigned to {assigned_to}; only they open its contacts",
    ),
    "error.not_filer": ("{reference} 不是您登记的事项", "You did not file {reference}"),
    "error.not_of_unit": (
        "调解员 {mediator_id} 不属于 {unit_id}",
        "Mediator {mediator_id} is not of {unit_id}",
    ),
    "error.http_404": ("没有这个页面", "No such page"),
    "error.case_not_found": ("未找到案件 {case_id}", "No case {case_id}"),
    "error.not_found": ("未找到事项 {reference}", "No report {reference}"),
    "error.unit_not_found": ("未找到单位 {unit_id}", "No unit {unit_id}"),
    "error.subscription_not_found": (
        "未找到订阅 {subscription_id}",
        "No subscription {subscription_id}",
    ),
    "error.illegal_transition": (
        "案件当前状态为“{state:state}”，不能“{action:action}”；"
        "现在可办理：{allowed_actions:action}{why:why}",
        "“{action:action}” is not possible while the case is “{state:state}”; "
        "possible now: {allowed_actions:action}{why:why}",
    ),
    "why.awaiting_reroute": ("；案件正等待移交上一级", "; the case is waiting to move one tier up"),
    "why.busy": (
        "；案件正被同时办理，请重试",
        "; the case was changed at the same time, try again",
    ),
    "why.no_deadline_passed": ("；尚无超期", "; no deadline has passed"),
    "why.stale_routing": ("；分流信息已过时", "; the routing is out of date"),
    "error.payload_too_large": (
        "提交内容超过 {max_bytes} 字节",
        "The request is over {max_bytes} bytes",
    ),
    "error.too_many_requests": (
        "提交过于频繁，请 {retry_after_s} 秒后再试",
        "Too many requests; try again in {retry_after_s} s",
    ),
    "error.too_many_streams": (
        "实时提醒连接已达上限（{limit} 个），请关闭其他页面或 {retry_after_s} 秒后再试",
        "Too many live streams (at most {limit}); close one or try again in {retry_after_s} s",
    ),
    "error.headers_too_large": (
        "请求头超过 {max_bytes} 字节",
        "The request headers are over {max_bytes} bytes",
    ),
    "error.request_timeout": (
        "请求未在 {timeout_s} 秒内发送完毕",
        "The request was not received within {timeout_s} s",
    ),
    "error.unavailable": (
        "暂未保存，请 {retry_after_s} 秒后重试",
        "Not stored; try again in {retry_after_s} s",
    ),
    # Refused fields: our own codes (services.errors.FieldProblem), then pydantic's error types.
    "invalid.phone_invalid": (
        "不是有效的手机号或带区号的固定电话",
        "Not a mainland mobile or landline number",
    ),
    "invalid.id_number_invalid": (
        "不是18位居民身份证号码",
        "Not an 18-character resident ID number",
    ),
    "invalid.id_number_checksum": ("身份证号码校验位不正确", "The ID number fails its check digit"),
    "invalid.email_invalid": ("不是有效的电子邮箱地址", "Not a valid e-mail address"),
    "invalid.unknown_village": ("没有这个村（社区）", "Unknown village"),
    "invalid.unknown_grid": ("没有这个网格", "Unknown grid"),
    "invalid.unknown_unit": ("没有这个单位：{unit_id}", "Unknown unit {unit_id}"),
    "invalid.grid_not_in_village": ("该网格不属于 {village_id}", "The grid is not in {village_id}"),
    "invalid.place_required": (
        "请选择村（社区），或填写网格编号或地点描述",
        "Give a village, a grid id or the place as spoken",
    ),
    "invalid.in_future": ("时间不能晚于现在", "Must not be in the future"),
    "invalid.too_far_back": (
        "时间不能早于 {grace_hours} 小时以前",
        "Must not lie more than {grace_hours} h back",
    ),
    "invalid.before_last_entry": (
        "时间不能早于案件的上一条记录（{last_entry_at}）",
        "Must not lie before the case's last entry ({last_entry_at})",
    ),
    "invalid.before_case": (
        "时间不能早于纠纷可调解之时（{earliest}）",
        "Must not lie before the dispute could be mediated ({earliest})",
    ),
    "invalid.digest_needs_push": (
        "汇总间隔只适用于网络回调和电子邮件",
        "Digests apply to webhook and e-mail deliveries only",
    ),
    "invalid.webhook_target_refused": (
        "不能向 {host} 推送：只允许 http(s) 公网地址，不可含用户名密码，不可指向本机、内网、"
        "链路本地或云元数据地址（内网地址须列入 NOTIFIER_WEBHOOK_ALLOW）",
        "Cannot push to {host}: only public http(s) addresses, without a user name or "
        "password; loopback, private, link-local and metadata targets need NOTIFIER_WEBHOOK_ALLOW",
    ),
    "invalid.password_too_short": ("密码至少 {limit} 个字符", "At least {limit} characters"),
    "invalid.password_too_long": ("密码至多 {limit} 个字符", "At most {limit} characters"),
    "invalid.password_has_name": ("密码不能包含用户名", "Must not contain the user name"),
    "invalid.password_too_simple": (
        "密码至少含 {limit} 个不同字符",
        "At least {limit} different characters",
    ),
    "invalid.user_name_taken": ("用户名 {user_name} 已被使用", "User name {user_name} is taken"),
    "invalid.lat_long_pair": ("经度和纬度须同时填写", "Latitude and longitude go together"),
    "invalid.location_required": (
        "须提供经纬度、地址或地址编号",
        "A location is required: coordinates, address or address id",
    ),
    "invalid.control_character": (
        "不允许控制字符 {codepoint}",
        "Control character {codepoint} not allowed",
    ),
    "invalid.lone_surrogate": (
        "含有无法保存的字符 {codepoint}（单独的代理码位）",
        "Lone surrogate {codepoint}: not text that can be stored",
    ),
    "invalid.forbidden_key": (
        "字段名不能以 $ 开头或包含 .",
        "Keys may not start with '$' or contain '.'",
    ),
    "invalid.nested_too_deeply": (
        "嵌套超过 {max_depth} 层",
        "Nested more than {max_depth} levels deep",
    ),
    "invalid.body_too_large": (
        "提交内容超过 {max_bytes} 字节",
        "The request is over {max_bytes} bytes",
    ),
    "invalid.key_reused": (
        "该幂等键已用于另一项提交",
        "This key was used before for a different request",
    ),
    "invalid.missing": ("必填", "Required"),
    "invalid.extra_forbidden": ("不认识的字段", "Unknown field"),
    "invalid.json_invalid": ("提交内容不是有效的 JSON", "Malformed JSON"),
    "invalid.string_type": ("应为文本", "Must be text"),
    "invalid.string_too_short": ("至少 {min_length} 个字符", "At least {min_length} characters"),
    "invalid.string_too_long": ("至多 {max_length} 个字符", "At most {max_length} characters"),
    "invalid.string_pattern_mismatch": ("格式不正确", "Wrong format"),
    "invalid.int_type": ("应为整数", "Must be a whole number"),
    "invalid.int_parsing": ("应为整数", "Must be a whole number"),
    "invalid.int_from_float": ("应为整数", "Must be a whole number"),
    "invalid.float_type": ("应为数字", "Must be a number"),
    "invalid.float_parsing": ("应为数字", "Must be a number"),
    "invalid.finite_number": ("应为有限的数字", "Must be a finite number"),
    "invalid.greater_than": ("应大于 {gt}", "Must be more than {gt}"),
    "invalid.greater_than_equal": ("不能小于 {ge}", "Must be at least {ge}"),
    "invalid.less_than_equal": ("不能大于 {le}", "Must be at most {le}"),
    "invalid.bool_type": ("应为是或否", "Must be yes or no"),
    "invalid.bool_parsing": ("应为是或否", "Must be yes or no"),
    "invalid.enum": ("请从列表中选择", "Choose one of the list"),
    "invalid.literal_error": ("请从列表中选择", "Choose one of the list"),
    "invalid.list_type": ("应为列表", "Must be a list"),
    "invalid.too_short": ("至少 {min_length} 项", "At least {min_length} entries"),
    "invalid.too_long": ("至多 {max_length} 项", "At most {max_length} entries"),
    "invalid.datetime_type": ("应为日期和时间", "Must be a date and time"),
    "invalid.datetime_parsing": ("应为日期和时间", "Must be a date and time"),
    "invalid.datetime_from_date_parsing": ("应为日期和时间", "Must be a date and time"),
    "invalid.timezone_aware": ("时间须带时区", "Must include a time zone"),
    "invalid.model_type": ("应为对象", "Must be an object"),
    "invalid.model_attributes_type": ("应为对象", "Must be an object"),
    "invalid.union_tag_invalid": ("“{tag}”不是可选项", "“{tag}” is not one of the choices"),
    "invalid.union_tag_not_found": ("缺少 {discriminator}", "{discriminator} is missing"),
    "invalid.url_parsing": ("不是有效的网址", "Not a valid URL"),
    "invalid.url_scheme": ("网址须以 http 或 https 开头", "The URL must start with http or https"),
    "invalid.url_type": ("应为网址", "Must be a URL"),
    "invalid.url_too_long": ("网址过长", "The URL is too long"),
    # The mediator's case: who holds it, its contacts, reassignment, rebounds, confirmations.
    "error.assigned_to_other": (
        "该案件由 {assigned_name}（{assigned_to}）承办，您不能办理；"
        "如需转办，请督办人员或本组织负责人改派",
        "The case is assigned to {assigned_name} ({assigned_to}); you may not act on it "
        "unless a supervisor or the unit's lead reassigns it",
    ),
    "error.may_not_reassign": (
        "{subject} 无权改派 {unit_id} 的案件：仅限督办人员和本组织负责人",
        "{subject} may not reassign the cases of {unit_id}: only supervisors and the unit's lead",
    ),
    "error.mediator_holds_cases": (
        "{mediator_ids} 仍有未结案件：{case_ids}；请先改派",
        "{mediator_ids} still hold open cases: {case_ids}; reassign them first",
    ),
    "error.stale_revision": (
        "单位名录已被他人修改（当前版本 {revision}），请刷新后重试",
        "The unit registry changed meanwhile (now revision {revision}); read it again",
    ),
    "error.unit_has_units": (
        "{unit_id} 下仍有单位：{unit_ids}；请先迁移或撤销",
        "Units still belong to {unit_id}: {unit_ids}; move or retire them first",
    ),
    "error.unit_holds_cases": (
        "{unit_id} 仍有未结案件：{case_ids}；请先办结或上报",
        "{unit_id} still holds open cases: {case_ids}; close or escalate them first",
    ),
    "invalid.mediator_not_of_unit": (
        "{mediator_id} 不是本调解组织的调解员",
        "{mediator_id} is not a mediator of this unit",
    ),
    "why.already_assigned": ("；已由该调解员承办", "; it is assigned to that mediator already"),
    "mediator.assigned_to": ("承办人", "Assigned to"),
    "mediator.unassigned": (
        "尚未指定，本组织调解员均可接案",
        "Nobody yet: any of the unit's mediators may accept",
    ),
    "mediator.not_yours": (
        "此案件由 {name} 承办。如需转办，请督办人员或本组织负责人改派。",
        "This case is assigned to {name}. A supervisor or the unit's lead may reassign it.",
    ),
    "mediator.only_mediators": (
        "案件由本调解组织的调解员办理",
        "The unit's mediators act on its cases",
    ),
    "mediator.contacts": ("当事人联系方式", "Parties' contacts"),
    "mediator.open_contacts": ("查看联系方式（将记入审计）", "Open contacts (audited)"),
    "mediator.reassign": ("改派", "Reassign"),
    "mediator.reassign_to": ("改派给", "Reassign to"),
    "mediator.rebound_of": ("纠纷反弹，此前已化解：", "Rebound of the resolved case "),
    "mediator.duplicate_of": ("可能与此前案件重复：", "Possible duplicate of "),
    "mediator.rebound": ("反弹", "Rebound"),
    "mediator.duplicate": ("疑似重复", "Possible duplicate"),
    "mediator.risk": ("风险", "Risk"),
    "mediator.times_in": ("时间均为{zone}时间", "Times are {zone} time"),
    "mediator.held_at": ("调解时间 {at}", "held at {at}"),
    "mediator.by": ("办理人 {who}", "by {who}"),
    "done.accept": ("已接案", "Case accepted"),
    "done.hold_session": ("调解会已记录", "Session recorded"),
    "done.resolve": ("已记录调解成功", "Recorded as resolved"),
    "done.fail": ("已标记调解不成，案件将移交上一级", "Marked failed: the case goes one tier up"),
    "done.refer": ("已移交", "Referred"),
    "done.withdraw": ("已撤回", "Withdrawn"),
    "done.follow_up": ("履行回访已记录", "Follow-up recorded"),
    "done.visit": ("回访已记录", "Return visit recorded"),
    "done.reassign": ("已改派", "Reassigned"),
    "timeline.reassigned": ("改派承办人", "Reassigned"),
    "timeline.rebound_joined": ("同一纠纷再次反映，并入本案", "Reported again: joined this case"),
    "why.joined": ("；该反映已并入本案", "; the report joined this case already"),
}


INPUT_KINDS: Final[Mapping[str, str]] = {
    "category": "category",
    "risk_flags": "risk",
    "party_kinds": "party",
    "household_colors": "color",
    "from_tier": "tier",
    "rebound_resolved_tier": "tier",
    "escalation_reason": "escalation",
    "matched": "rule",
}
"""The vocabulary each recorded routing fact is written in; the others are ids and numbers."""

PLACEHOLDER: Final = re.compile(r"\{(\w+)(?::(\w+))?\}")
"""`{name}` or `{name:kind}`; console.js fills them the same way."""


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

    def format(self, key: str, params: Mapping[str, Any], fallback: str | None = None) -> str:
        """The sentence of `key` with its placeholders filled from `params`; without an entry,
        `fallback` (the server's English), else the key."""
        entry = TEXT.get(key)
        if entry is None:
            return key if fallback is None else fallback
        return PLACEHOLDER.sub(
            lambda found: self._word(params.get(found[1]), found[2]), entry[self._index]
        )

    def coded(
        self, prefix: str, code: str | None, params: Mapping[str, Any] | None, fallback: str
    ) -> str:
        """A server's fact given as a code (and facts), worded here with units by name; facts
        recorded before they carried codes keep the server's text."""
        if code is None:
            return fallback
        named = {key: self._units_named(value) for key, value in (params or {}).items()}
        return self.format(f"{prefix}.{code}", named, fallback)

    def _units_named(self, value: Any) -> Any:
        """Unit ids (alone or listed) as their names; anything else as it is."""
        if isinstance(value, list | tuple):
            return [self._units_named(item) for item in value]
        unit = in_force().unit(value) if isinstance(value, str) else None
        return self.unit_name(unit) if unit is not None else value

    def join(self, words: Iterable[str]) -> str:
        """A list as this language writes one (甲、乙 / a, b), `list.empty` when there is none:
        every console lists through here (console.js's `tiaojie.join` does the same)."""
        given = list(words)
        return self("list.sep").join(given) if given else self("list.empty")

    def labels(self, kind: str, codes: Iterable[str]) -> str:
        """Codes of one vocabulary worded and listed: 紧急风险、超期未办 / Urgent risk, ..."""
        return self.join(self.label(kind, code) for code in codes)

    def unit_name(self, unit: Unit) -> str:
        """A unit as a person reads it: its name in this language, never its id."""
        return unit.name_en if self.language == EN else unit.name

    def fact(self, name: str, value: Any) -> str:
        """A fact a routing step recorded, named and worded in this language."""
        return f"{self(f'input.{name}')}: {self._word(value, INPUT_KINDS.get(name))}"

    def _word(self, value: Any, kind: str | None) -> str:
        if isinstance(value, list | tuple):
            return self.join(self._word(item, kind) for item in value)
        if value is None:
            return ""
        if kind:
            return TEXT.get(f"{kind}.{value}", (str(value), str(value)))[self._index]
        if isinstance(value, bool):
            return self(f"bool.{str(value).lower()}")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return f"{value:,}" if isinstance(value, int | float) else str(value)

    def page_table(self) -> dict[str, str]:
        """This language's column, for the page's scripts (console.js words errors with it)."""
        return {key: entry[self._index] for key, entry in TEXT.items()}

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


_ENGLISH: Final = Translator(EN)


def english(key: str, params: Mapping[str, Any]) -> str:
    """The English sentence of `key`: what APIs and logs say beside the code."""
    if not params:  # most routings ("the village mediates"): the same sentence every time
        return _english_plain(key)
    return _ENGLISH.format(key, params)


@cache
def _english_plain(key: str) -> str:
    return _ENGLISH.format(key, {})
