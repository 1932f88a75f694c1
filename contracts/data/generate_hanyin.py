"""Writes hanyin.json, the Hanyin County sample jurisdiction (DOMAIN.md): 10 towns, 156 villages
and communities, 4,876 basic grids, their mediation bodies and mediators, one WeChat group per
village. Town names are real; village, grid and people names beyond Jianghe Village are
synthetic. Deterministic: `python -m contracts.data.generate_hanyin` rewrites the same file.
"""

import json
import random
from pathlib import Path
from typing import Any

from contracts.vocabulary import Category

TOWNS = [
    ("chengguan", "城关镇", "Chengguan"),
    ("jianchi", "涧池镇", "Jianchi"),
    ("puxi", "蒲溪镇", "Puxi"),
    ("pingliang", "平梁镇", "Pingliang"),
    ("shuangru", "双乳镇", "Shuangru"),
    ("tiefosi", "铁佛寺镇", "Tiefosi"),
    ("guanyinhe", "观音河镇", "Guanyinhe"),
    ("shuanghekou", "双河口镇", "Shuanghekou"),
    ("xuanwo", "漩涡镇", "Xuanwo"),
    ("hanyang", "汉阳镇", "Hanyang"),
]
VILLAGES_PER_TOWN = [16, 16, 16, 16, 16, 16, 15, 15, 15, 15]  # 156 in all
BASIC_GRIDS = 4876
FIRST = [
    ("青", "qing"),
    ("石", "shi"),
    ("柳", "liu"),
    ("桥", "qiao"),
    ("龙", "long"),
    ("黄", "huang"),
    ("花", "hua"),
    ("松", "song"),
    ("杨", "yang"),
    ("马", "ma"),
    ("金", "jin"),
    ("白", "bai"),
    ("新", "xin"),
    ("东", "dong"),
    ("高", "gao"),
    ("枣", "zao"),
    ("茶", "cha"),
    ("梨", "li"),
]
SECOND = [
    ("坪", "ping"),
    ("沟", "gou"),
    ("湾", "wan"),
    ("岭", "ling"),
    ("坝", "ba"),
    ("庄", "zhuang"),
    ("山", "shan"),
    ("垭", "ya"),
    ("堡", "bao"),
    ("园", "yuan"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "建国",
    "秀英",
    "志强",
    "桂兰",
    "德明",
    "玉梅",
    "长青",
    "春华",
    "永红",
    "海波",
    "淑珍",
    "国平",
    "金凤",
    "文斌",
    "丽娟",
    "新民",
]
TOWN_SPECIALTIES = [
    [Category.LAND_BOUNDARY, Category.HOUSING_SITE, Category.INHERITANCE],
    [Category.WAGE_ARREARS, Category.CONTRACT_DEBT, Category.CONSUMER],
    [Category.TRAFFIC_ACCIDENT, Category.MEDICAL, Category.PROPERTY_MANAGEMENT],
    [Category.NEIGHBOUR, Category.FAMILY, Category.ENVIRONMENT, Category.LAND_REQUISITION],
]
COUNTY_LAT, COUNTY_LON = 32.891, 108.508


def village_names() -> list[tuple[str, str]]:
    """156 distinct (Chinese name, pinyin) pairs; Jianghe comes first, for Shuangru."""
    names = [(f"{a}{b}村", f"{pa}{pb}") for a, pa in FIRST for b, pb in SECOND]
    random.Random(321).shuffle(names)
    return names


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def build() -> dict[str, Any]:
    rng = random.Random(20261122)
    units: list[dict[str, Any]] = [
        {
            "id": "hanyin",
            "kind": "county",
            "name": "汉阴县",
            "name_en": "Hanyin County",
            "parent_id": None,
            "mediation_body": "汉阴县矛盾纠纷调处中心",
            "lat": COUNTY_LAT,
            "lon": COUNTY_LON,
        },
    ]
    mediators: list[dict[str, Any]] = []
    all_categories = [c.value for c in Category]
    for n in range(6):
        mediators.append(
            {
                "id": f"med-hanyin-{n + 1}",
                "unit_id": "hanyin",
                "name": person(rng),
                "categories": all_categories,
            }
        )
    names = iter(village_names())
    villages: list[str] = []
    groups: dict[str, str] = {}
    for (town_code, town_name, town_en), count in zip(TOWNS, VILLAGES_PER_TOWN, strict=True):
        town_id = f"hanyin-{town_code}"
        t_lat = COUNTY_LAT + rng.uniform(-0.25, 0.25)
        t_lon = COUNTY_LON + rng.uniform(-0.3, 0.3)
        units.append(
            {
                "id": town_id,
                "kind": "town",
                "name": town_name,
                "name_en": f"{town_en} Town",
                "parent_id": "hanyin",
                "mediation_body": f"{town_name}矛盾纠纷调处中心",
                "lat": round(t_lat, 5),
                "lon": round(t_lon, 5),
            }
        )
        for n, specialties in enumerate(TOWN_SPECIALTIES):
            mediators.append(
                {
                    "id": f"med-{town_id}-{n + 1}",
                    "unit_id": town_id,
                    "name": person(rng),
                    "categories": [c.value for c in specialties] + ["other"],
                }
            )
        for v in range(count):
            name, code = (
                ("江河村", "jianghe") if town_code == "shuangru" and v == 0 else next(names)
            )
            village_id = f"{town_id}-{code}"
            villages.append(village_id)
            units.append(
                {
                    "id": village_id,
                    "kind": "village",
                    "name": name,
                    "name_en": f"{code.capitalize()} Village",
                    "parent_id": town_id,
                    "mediation_body": f"{name}人民调解委员会",
                    "lat": round(t_lat + rng.uniform(-0.05, 0.05), 5),
                    "lon": round(t_lon + rng.uniform(-0.05, 0.05), 5),
                }
            )
            for n in range(2):
                mediators.append(
                    {
                        "id": f"med-{village_id}-{n + 1}",
                        "unit_id": village_id,
                        "name": person(rng),
                        "categories": all_categories,
                    }
                )
            groups[f"{20000000 + len(villages)}@chatroom"] = village_id
    per_village, extra = divmod(BASIC_GRIDS, len(villages))
    for index, village_id in enumerate(villages):
        village = next(u for u in units if u["id"] == village_id)
        for g in range(per_village + (1 if index < extra else 0)):
            units.append(
                {
                    "id": f"{village_id}-g{g + 1:02d}",
                    "kind": "grid",
                    "name": f"{village['name']}第{g + 1}网格",
                    "name_en": f"{village['name_en']} grid {g + 1}",
                    "parent_id": village_id,
                }
            )
    return {
        "version": "hanyin-2026.11",
        "units": units,
        "mediators": mediators,
        "wechat_groups": groups,
    }


if __name__ == "__main__":
    target = Path(__file__).with_name("hanyin.json")
    target.write_text(json.dumps(build(), ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {target}")
