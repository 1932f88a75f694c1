"""Realistic reports for the Hanyin sample, for the simulator and the tests. Pure given a
seeded `random.Random`: the same seed gives the same reports."""

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from contracts.registry import Registry, Unit
from contracts.vocabulary import Category, RiskFlag

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "建国秀英春华志强桂兰明军丽娟海燕文斌小红德胜玉梅永福金凤红梅国庆淑珍宝山翠花"
DESCRIPTIONS: dict[Category, list[str]] = {
    Category.NEIGHBOUR: [
        "两户因排水沟堵塞发生争吵，雨水流进{name}家院子，请求村里调解",
        "{name}家盖厨房占了公共通道，邻居出入不便，双方多次吵架",
        "邻居家的狗咬伤了{name}家的鸡，双方对赔偿数额争执不下",
    ],
    Category.FAMILY: [
        "{name}与儿媳长期不和，老人赡养问题协商不成，要求调解",
        "{name}夫妻闹离婚，对孩子抚养和彩礼返还有争议",
    ],
    Category.INHERITANCE: ["{name}兄弟三人对父亲留下的老房子和林地如何分割有争议"],
    Category.HOUSING_SITE: ["{name}翻建房屋时与邻居对宅基地边界界桩位置有争议，已停工"],
    Category.LAND_BOUNDARY: ["两个村民小组对交界处一片山林的权属各执一词，{name}代表一组反映"],
    Category.LAND_REQUISITION: ["{name}对修路征地补偿标准不满，认为青苗补偿算少了"],
    Category.WAGE_ARREARS: [
        "{name}等人在镇上工地干活三个月，包工头拖欠工资{amount}元未付",
        "茶厂拖欠{name}采茶工钱，多次讨要无果",
    ],
    Category.TRAFFIC_ACCIDENT: ["{name}骑摩托车与三轮车相撞受伤，医药费{amount}元赔偿谈不拢"],
    Category.MEDICAL: ["{name}在镇卫生院输液后出现过敏反应，家属要求卫生院赔偿"],
    Category.CONTRACT_DEBT: ["{name}借给同村人{amount}元，到期不还，借条在手"],
    Category.PROPERTY_MANAGEMENT: ["小区物业乱收停车费，{name}等业主与物业发生争执"],
    Category.ENVIRONMENT: ["村旁养猪场排污，{name}家水井有异味，多户村民不满"],
    Category.CONSUMER: ["{name}在镇上商店买的化肥是假货，庄稼受损，要求退货赔偿"],
    Category.OTHER: ["{name}反映村里有矛盾需要协调处理"],
}
CATEGORY_WEIGHTS: dict[Category, int] = {
    Category.NEIGHBOUR: 30,
    Category.FAMILY: 14,
    Category.INHERITANCE: 5,
    Category.HOUSING_SITE: 10,
    Category.LAND_BOUNDARY: 7,
    Category.LAND_REQUISITION: 4,
    Category.WAGE_ARREARS: 8,
    Category.TRAFFIC_ACCIDENT: 6,
    Category.MEDICAL: 2,
    Category.CONTRACT_DEBT: 7,
    Category.PROPERTY_MANAGEMENT: 2,
    Category.ENVIRONMENT: 3,
    Category.CONSUMER: 1,
    Category.OTHER: 1,
}
WECHAT_DISPUTES = [
    "隔壁{name}家又和我们吵架了，排水沟堵了水都漫到屋里",
    "{name}家占了我家的地种菜，说了不听，麻烦村里来看看",
    "工地老板欠薪三个月了，我们{n}个人去讨薪没人理",
    "楼上漏水把我家天花板泡坏了，{name}不认账",
    "刚才{name}和他兄弟为遗产的事打起来了，快来人",
]
WECHAT_UNCLEAR = [
    "{name}家最近和邻居闹得厉害，不知道该找谁",
    "有人对村里分配不满，想找村里评评理",
]
WECHAT_NOTICES = [
    "@所有人 明天上午九点在村委会开会，请各户派代表参加",
    "收到，谢谢书记",
    "今天的医保缴费接龙，请大家抓紧",
]
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class Sample:
    """One HTTP request the simulator sends, and whether it should be refused."""

    channel: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    bad: str | None = None
    """What is wrong with it, for a request that must be refused."""


class Samples:
    def __init__(self, registry: Registry, rng: random.Random) -> None:
        self._registry = registry
        self._rng = rng
        self._villages = [u for u in registry.units.values() if u.kind == "village"]
        self._groups = {village: group for group, village in registry.wechat_groups.items()}

    # --- building blocks -------------------------------------------------------------
    def name(self) -> str:
        given = self._rng.randrange(0, len(GIVEN) - 1, 2)
        return self._rng.choice(SURNAMES) + GIVEN[given : given + 2]

    def phone(self) -> str:
        return f"1{self._rng.choice('3456789')}{self._rng.randrange(10**9):09d}"

    def id_number(self, village: Unit) -> str:
        born = datetime(1950, 1, 1) + timedelta(days=self._rng.randrange(20_000))  # noqa: DTZ001
        body = f"610921{born:%Y%m%d}{self._rng.randrange(1000):03d}"
        total = sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True))
        return body + "10X98765432"[total % 11]

    def village(self) -> Unit:
        return self._rng.choice(self._villages)

    def grid_of(self, village: Unit) -> str:
        grids = self._registry.children_of(village.id, "grid")
        return self._rng.choice(grids).id

    def category(self) -> Category:
        codes = list(CATEGORY_WEIGHTS)
        return self._rng.choices(codes, weights=list(CATEGORY_WEIGHTS.values()))[0]

    def color(self) -> str:
        return self._rng.choices(["green", "yellow", "red"], weights=[60, 30, 10])[0]

    def scale(self) -> tuple[int, float, list[str]]:
        """People, amount and risk flags spread over the village, town and county tiers."""
        tier = self._rng.choices(["village", "town", "county"], weights=[75, 20, 5])[0]
        people = {"village": 2, "town": self._rng.randint(10, 49), "county": 60}[tier]
        amount = {
            "village": self._rng.choice([0, 500, 3_000]),
            "town": self._rng.choice([60_000, 120_000]),
            "county": 800_000,
        }[tier]
        flags = [self._rng.choice(list(RiskFlag)).value] if self._rng.random() < 0.05 else []
        return people, float(amount), flags

    def description(self, category: Category, amount: float) -> str:
        template = self._rng.choice(DESCRIPTIONS[category])
        return template.format(name=self.name(), amount=int(amount) or 2000)

    def jitter(self) -> float:
        """Up to about 500 m off a village centroid."""
        return self._rng.uniform(-0.005, 0.005)

    def occurred_at(self) -> str:
        ago = timedelta(hours=self._rng.randint(1, 24 * 5))
        return (datetime.now(UTC) - ago).astimezone().isoformat(timespec="seconds")

    def party(self, village: Unit, *, household: bool = False) -> dict[str, Any]:
        party: dict[str, Any] = {
            "name": self.name(),
            "phone": self.phone(),
            "village_id": village.id,
            "household_color": self.color(),
        }
        if household:
            party["household_id"] = f"{village.id}-h{self._rng.randint(1, 400):03d}"
        return party

    # --- one request per channel ------------------------------------------------------
    def hotline(self) -> dict[str, Any]:
        village, category = self.village(), self.category()
        people, amount, flags = self.scale()
        body: dict[str, Any] = {
            "channel": "hotline",
            "category": category.value,
            "description": self.description(category, amount),
            "parties": [self.party(village) for _ in range(2)],
            "people_involved": people,
            "amount_yuan": amount,
            "risk_flags": flags,
            "occurred_at": self.occurred_at(),
            "caller": {"name": self.name(), "phone": self.phone()},
        }
        where = self._rng.random()
        if where < 0.6:
            body["village_id"] = village.id
        elif where < 0.8:
            body["grid_id"] = self.grid_of(village)
        else:
            town = self._registry.unit(village.parent_id or "")
            body["address_text"] = f"{town.name if town else ''}{village.name}三组"
        return body

    def wechat(self) -> dict[str, Any]:
        village = self.village()
        kind = self._rng.choices(["dispute", "unclear", "notice"], weights=[70, 15, 15])[0]
        pool = {"dispute": WECHAT_DISPUTES, "unclear": WECHAT_UNCLEAR, "notice": WECHAT_NOTICES}
        text = self._rng.choice(pool[kind]).format(name=self.name(), n=self._rng.randint(3, 20))
        return {
            "message_id": f"wxmsg-{uuid.UUID(int=self._rng.getrandbits(128)).hex}",
            "group_id": self._groups.get(village.id, "unknown@chatroom"),
            "sender": {"nickname": self.name(), "wxid": f"wxid_{self._rng.getrandbits(40):x}"},
            "text": text,
            "sent_at": self.occurred_at(),
        }

    def grid(self) -> dict[str, Any]:
        village, category = self.village(), self.category()
        people, amount, flags = self.scale()
        return {
            "report_id": f"grid-{uuid.UUID(int=self._rng.getrandbits(128)).hex}",
            "grid_id": self.grid_of(village),
            "reporter": {
                "worker_id": f"gw-{self._rng.randint(1, 4876):04d}",
                "name": self.name(),
                "role": self._rng.choice(["grid_worker", "central_household_head"]),
            },
            "category": category.value,
            "description": self.description(category, amount),
            "parties": [self.party(village, household=True) for _ in range(2)],
            "people_involved": people,
            "amount_yuan": amount,
            "risk_flags": flags,
            "occurred_at": self.occurred_at(),
        }

    def petition(self) -> dict[str, Any]:
        village, category = self.village(), self.category()
        people, amount, flags = self.scale()
        return {
            "agent_id": f"agent-{village.id}",
            "petition_ref": f"xf-{uuid.UUID(int=self._rng.getrandbits(128)).hex[:12]}",
            "village_id": village.id,
            "category": category.value,
            "description": self.description(category, amount),
            "petitioner": {
                "name": self.name(),
                "id_number": self.id_number(village),
                "phone": self.phone(),
                "village_id": village.id,
                "household_color": self.color(),
            },
            "demands": ["依法依规处理", "给个明确答复"],
            "people_involved": people,
            "amount_yuan": amount,
            "risk_flags": flags,
            "occurred_at": self.occurred_at(),
        }

    def open311(self) -> list[tuple[str, str]]:
        village, category = self.village(), self.category()
        people, amount, flags = self.scale()
        form = [
            ("service_code", category.value),
            ("description", self.description(category, amount)),
            ("first_name", self.name()),
            ("phone", self.phone()),
            ("attribute[people_involved]", str(people)),
            ("attribute[amount_yuan]", str(amount)),
            ("attribute[household_color]", self.color()),
        ]
        form += [("attribute[risk_flags][]", flag) for flag in flags]
        if self._rng.random() < 0.7 and village.lat is not None and village.lon is not None:
            lat, lon = village.lat + self.jitter(), village.lon + self.jitter()
            form += [("lat", f"{lat:.6f}"), ("long", f"{lon:.6f}")]
        else:
            form.append(("address_string", f"汉阴县{village.name}"))
        return form

    def sample(self, bad_share: float) -> Sample:
        if self._rng.random() < bad_share:
            return self.bad()
        channel = self._rng.choices(
            ["hotline", "wechat", "grid", "petition", "open311"], weights=[35, 20, 20, 10, 15]
        )[0]
        key = {"Idempotency-Key": uuid.UUID(int=self._rng.getrandbits(128)).hex}
        if channel == "open311":
            form = urlencode(self.open311()).encode()
            content = {"content-type": "application/x-www-form-urlencoded"}
            return Sample(channel, "/open311/v2/requests.json", form, content | key)
        body = getattr(self, channel)()
        return Sample(channel, PATHS[channel], _json(body), JSON | key)

    def bad(self) -> Sample:
        """One of the inputs intake must refuse, each naming its field."""
        hotline = self.hotline()
        hotline.pop("grid_id", None)
        hotline.pop("address_text", None)
        hotline["village_id"] = self.village().id
        cases: list[tuple[str, dict[str, Any] | bytes]] = [
            ("malformed JSON", b'{"channel": "hotline", "category": '),
            ("unknown category", hotline | {"category": "gossip"}),
            ("unknown village", hotline | {"village_id": "hanyin-nowhere-village"}),
            ("empty description", hotline | {"description": "   "}),
            ("invalid phone", hotline | {"parties": [{"name": "王五", "phone": "12345"}]}),
            ("future occurred_at", hotline | {"occurred_at": "2999-01-01T00:00:00+08:00"}),
            ("operator key", hotline | {"parties": [{"$where": "1"}]}),
            ("control character", hotline | {"description": "吵架\u0007"}),
            ("wrong type", hotline | {"people_involved": "many"}),
            ("WeChat message with no text", self.wechat() | {"text": ""}),
        ]
        what, body = self._rng.choice(cases)
        channel = "wechat" if what.startswith("WeChat") else "hotline"
        content = body if isinstance(body, bytes) else _json(body)
        return Sample(channel, PATHS[channel], content, dict(JSON), bad=what)


PATHS = {
    "hotline": "/v1/disputes",
    "wechat": "/v1/channels/wechat/messages",
    "grid": "/v1/channels/grid/reports",
    "petition": "/v1/channels/petitions",
}
JSON = {"content-type": "application/json"}


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()
