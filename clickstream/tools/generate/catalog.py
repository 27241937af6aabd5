"""The shop's product catalog: a few hundred computers and accessories.

The catalog is the same for every seed (it is built from the tables below,
no randomness), so ``dim_product`` and the dashboards see stable products.
Most prices are in USD; a few European brands are listed in EUR and the
Raspberry Pi boards in GBP, as a marketplace shop would.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

SITE = "https://shop.example.com"

CATEGORIES = (
    "laptops",
    "desktops",
    "monitors",
    "keyboards",
    "mice",
    "headsets",
    "storage",
    "networking",
    "components",
    "accessories",
)

# Brands whose products the shop lists in another currency (price tables are USD; see _local_price).
_BRAND_CURRENCY = {
    "be quiet!": "EUR",
    "Fractal Design": "EUR",
    "Noctua": "EUR",
    "EPOS": "EUR",
    "Sennheiser": "EUR",
    "Cherry": "EUR",
    "Raspberry Pi": "GBP",
}
_USD_TO = {"USD": 1.0, "EUR": 0.93, "GBP": 0.79}


@dataclass(frozen=True, slots=True)
class Product:
    """One product as the shop lists it."""

    product_id: str
    name: str
    category: str
    brand: str
    price: float  # two decimals, in ``currency``
    currency: str  # ISO-4217
    slug: str

    @property
    def url(self) -> str:
        return f"{SITE}/p/{self.slug}"


# category -> rows of (brand, model, base price in USD, variants).
# A variant is (suffix, price multiplier); "" means the model is sold as is.
_LAPTOP_CONFIGS = (("16GB RAM, 512GB SSD", 1.0), ("32GB RAM, 1TB SSD", 1.35))
_DESKTOP_CONFIGS = (("16GB RAM, 512GB SSD", 1.0), ("32GB RAM, 2TB SSD", 1.4))
_ONE = (("", 1.0),)
_COLOURS = (("Graphite", 1.0), ("Pale Grey", 1.0))
_SWITCHES = (("Red switches", 1.0), ("Brown switches", 1.0), ("Blue switches", 1.0))

_TABLE: dict[str, tuple[tuple[str, str, float, tuple[tuple[str, float], ...]], ...]] = {
    "laptops": (
        ("Dell", "XPS 13 9340", 999, _LAPTOP_CONFIGS),
        ("Dell", "XPS 14 9440", 1399, _LAPTOP_CONFIGS),
        ("Dell", "Inspiron 15 3530", 649, _LAPTOP_CONFIGS),
        ("Dell", "Latitude 5450", 1149, _LAPTOP_CONFIGS),
        ("Lenovo", "ThinkPad X1 Carbon Gen 12", 1649, _LAPTOP_CONFIGS),
        ("Lenovo", "ThinkPad T14 Gen 5", 1199, _LAPTOP_CONFIGS),
        ("Lenovo", "IdeaPad Slim 5 14", 699, _LAPTOP_CONFIGS),
        ("Lenovo", "Legion 5 Gen 9", 1299, _LAPTOP_CONFIGS),
        ("Lenovo", "Yoga 7i 16", 899, _LAPTOP_CONFIGS),
        ("HP", "Spectre x360 14", 1449, _LAPTOP_CONFIGS),
        ("HP", "Pavilion 15", 599, _LAPTOP_CONFIGS),
        ("HP", "EliteBook 840 G11", 1299, _LAPTOP_CONFIGS),
        ("HP", "Victus 16", 899, _LAPTOP_CONFIGS),
        ("HP", "OMEN Transcend 14", 1499, _LAPTOP_CONFIGS),
        ("Apple", "MacBook Air 13 M3", 1099, _LAPTOP_CONFIGS),
        ("Apple", "MacBook Air 15 M3", 1299, _LAPTOP_CONFIGS),
        ("Apple", "MacBook Pro 14 M3 Pro", 1999, _LAPTOP_CONFIGS),
        ("ASUS", "Zenbook 14 OLED", 899, _LAPTOP_CONFIGS),
        ("ASUS", "ROG Zephyrus G14", 1599, _LAPTOP_CONFIGS),
        ("ASUS", "Vivobook 15", 549, _LAPTOP_CONFIGS),
        ("ASUS", "TUF Gaming A15", 949, _LAPTOP_CONFIGS),
        ("Acer", "Swift Go 14", 749, _LAPTOP_CONFIGS),
        ("Acer", "Aspire 5 15", 529, _LAPTOP_CONFIGS),
        ("Acer", "Nitro V 15", 799, _LAPTOP_CONFIGS),
        ("MSI", "Katana 15", 999, _LAPTOP_CONFIGS),
        ("MSI", "Prestige 14 AI", 1099, _LAPTOP_CONFIGS),
        ("Microsoft", "Surface Laptop 7 13.8", 999, _LAPTOP_CONFIGS),
        ("Razer", "Blade 14", 2199, _LAPTOP_CONFIGS),
        ("Framework", "Laptop 13", 1049, _LAPTOP_CONFIGS),
    ),
    "desktops": (
        ("Dell", "XPS Desktop 8960", 1199, _DESKTOP_CONFIGS),
        ("Dell", "OptiPlex 7020 Micro", 749, _DESKTOP_CONFIGS),
        ("HP", "Pavilion Desktop TP01", 599, _DESKTOP_CONFIGS),
        ("HP", "OMEN 25L", 1299, _DESKTOP_CONFIGS),
        ("HP", "Elite Mini 800 G9", 899, _DESKTOP_CONFIGS),
        ("Lenovo", "ThinkCentre M70q Gen 5", 699, _DESKTOP_CONFIGS),
        ("Lenovo", "Legion Tower 5i", 1399, _DESKTOP_CONFIGS),
        ("Apple", "Mac mini M2", 599, _DESKTOP_CONFIGS),
        ("Apple", "iMac 24 M3", 1299, _DESKTOP_CONFIGS),
        ("Apple", "Mac Studio M2 Max", 1999, _ONE),
        ("ASUS", "ROG Strix G16CH", 1499, _DESKTOP_CONFIGS),
        ("Acer", "Aspire TC-1780", 549, _DESKTOP_CONFIGS),
        ("MSI", "MAG Infinite S3", 1099, _DESKTOP_CONFIGS),
        ("Corsair", "Vengeance i7400", 2799, _ONE),
        ("ASUS", "NUC 14 Pro", 649, _DESKTOP_CONFIGS),
    ),
    "monitors": (
        ("Dell", 'UltraSharp U2724D 27" QHD', 469, _ONE),
        ("Dell", 'S2722QC 27" 4K USB-C', 299, _ONE),
        ("Dell", 'Alienware AW3423DWF 34" QD-OLED', 899, _ONE),
        ("LG", 'UltraGear 27GP850-B 27" 180Hz', 349, _ONE),
        ("LG", 'Ergo 32UN880-B 32" 4K', 599, _ONE),
        ("LG", '24MP400-B 24" IPS', 129, _ONE),
        ("Samsung", 'Odyssey G7 32" 240Hz', 549, _ONE),
        ("Samsung", 'Smart Monitor M8 32" 4K', 599, _ONE),
        ("Samsung", 'ViewFinity S6 27" QHD', 279, _ONE),
        ("ASUS", 'ProArt PA278QV 27"', 299, _ONE),
        ("ASUS", 'TUF Gaming VG27AQ 27"', 279, _ONE),
        ("BenQ", 'PD2705U 27" 4K', 499, _ONE),
        ("BenQ", 'GW2480 24" Eye-Care', 119, _ONE),
        ("AOC", '24G2 24" 144Hz', 159, _ONE),
        ("Acer", 'Nitro XV272U 27" 170Hz', 249, _ONE),
        ("Gigabyte", 'M27Q 27" KVM', 279, _ONE),
        ("HP", 'E24 G5 24" FHD', 199, _ONE),
        ("MSI", 'MAG 274QRF-QD 27"', 299, _ONE),
        ("Apple", 'Studio Display 27" 5K', 1599, _ONE),
        ("Philips", 'Evnia 34M2C7600MV 34"', 799, _ONE),
    ),
    "keyboards": (
        ("Logitech", "MX Keys S", 109.99, _COLOURS),
        ("Logitech", "MX Mechanical Mini", 149.99, _ONE),
        ("Logitech", "K380 Multi-Device", 39.99, _COLOURS),
        ("Logitech", "G915 TKL Wireless", 229.99, _ONE),
        ("Keychron", "K2 Pro", 99, _SWITCHES),
        ("Keychron", "Q1 Pro", 199, _SWITCHES),
        ("Keychron", "K8 TKL", 89, _ONE),
        ("Razer", "BlackWidow V4", 169.99, _ONE),
        ("Razer", "Huntsman Mini", 119.99, _ONE),
        ("Corsair", "K70 RGB Pro", 169.99, _ONE),
        ("Corsair", "K65 Plus Wireless", 159.99, _ONE),
        ("SteelSeries", "Apex Pro TKL", 189.99, _ONE),
        ("Microsoft", "Ergonomic Keyboard", 59.99, _ONE),
        ("Apple", "Magic Keyboard with Touch ID", 149, _ONE),
        ("Das Keyboard", "4 Professional", 169, _ONE),
        ("Ducky", "One 3 TKL", 119, _ONE),
        ("HyperX", "Alloy Origins Core", 89.99, _ONE),
        ("Cherry", "KC 6000 Slim", 49.99, _ONE),
        ("Cherry", "MX Board 3.0 S", 89.99, _ONE),
    ),
    "mice": (
        ("Logitech", "MX Master 3S", 99.99, _COLOURS),
        ("Logitech", "MX Anywhere 3S", 79.99, _COLOURS),
        ("Logitech", "G502 X Plus", 159.99, _ONE),
        ("Logitech", "G Pro X Superlight 2", 159.99, _ONE),
        ("Logitech", "M185 Wireless", 14.99, _ONE),
        ("Razer", "DeathAdder V3", 89.99, _ONE),
        ("Razer", "Basilisk V3", 69.99, _ONE),
        ("Razer", "Viper V3 Pro", 159.99, _ONE),
        ("Corsair", "M65 RGB Ultra", 79.99, _ONE),
        ("SteelSeries", "Rival 3", 29.99, _ONE),
        ("Microsoft", "Arc Mouse", 79.99, _ONE),
        ("Apple", "Magic Mouse", 79, _ONE),
        ("Glorious", "Model O 2 Wireless", 79.99, _ONE),
        ("Zowie", "EC2-C", 69.99, _ONE),
        ("HP", "250 Wireless Mouse", 19.99, _ONE),
        ("Anker", "Vertical Ergonomic Mouse", 25.99, _ONE),
        ("Logitech", "Lift Vertical", 69.99, _ONE),
        ("Razer", "Pro Click Mini", 79.99, _ONE),
    ),
    "headsets": (
        ("Sony", "WH-1000XM5", 399.99, _ONE),
        ("Bose", "QuietComfort Ultra Headphones", 429, _ONE),
        ("Jabra", "Evolve2 65", 249, _ONE),
        ("Jabra", "Evolve2 85", 449, _ONE),
        ("Logitech", "Zone Vibe 100", 99.99, _ONE),
        ("Logitech", "G Pro X 2 Lightspeed", 249.99, _ONE),
        ("Logitech", "H390 USB Headset", 29.99, _ONE),
        ("SteelSeries", "Arctis Nova 7", 179.99, _ONE),
        ("SteelSeries", "Arctis Nova Pro Wireless", 349.99, _ONE),
        ("HyperX", "Cloud III", 99.99, _ONE),
        ("HyperX", "Cloud Alpha Wireless", 199.99, _ONE),
        ("Razer", "BlackShark V2 Pro", 199.99, _ONE),
        ("Corsair", "HS80 RGB Wireless", 149.99, _ONE),
        ("Poly", "Voyager Focus 2", 299, _ONE),
        ("Apple", "AirPods Max", 549, _ONE),
        ("Sennheiser", "Momentum 4 Wireless", 349.95, _ONE),
        ("EPOS", "H3PRO Hybrid", 249, _ONE),
        ("Sony", "INZONE H9", 299.99, _ONE),
    ),
    "storage": (
        ("Samsung", "990 PRO NVMe SSD", 119.99, (("1TB", 1.0), ("2TB", 1.5), ("4TB", 2.83))),
        ("Samsung", "870 EVO SATA SSD", 49.99, (("500GB", 1.0), ("1TB", 1.8), ("2TB", 3.4), ("4TB", 6.6))),
        ("WD", "Black SN850X NVMe SSD", 89.99, (("1TB", 1.0), ("2TB", 1.67), ("4TB", 3.33))),
        ("WD", "Blue SN580 NVMe SSD", 44.99, (("500GB", 1.0), ("1TB", 1.45), ("2TB", 2.67))),
        ("Crucial", "P3 Plus NVMe SSD", 64.99, (("1TB", 1.0), ("2TB", 1.85), ("4TB", 3.85))),
        ("Crucial", "T700 Gen5 NVMe SSD 2TB", 249.99, _ONE),
        ("Kingston", "NV2 NVMe SSD", 59.99, (("1TB", 1.0), ("2TB", 1.84))),
        ("Seagate", "BarraCuda 3.5in HDD", 59.99, (("2TB", 1.0), ("4TB", 1.5), ("8TB", 2.7))),
        ("Seagate", "IronWolf NAS HDD", 99.99, (("4TB", 1.0), ("8TB", 1.8))),
        ("WD", "Red Plus NAS HDD", 99.99, (("4TB", 1.0), ("8TB", 1.9))),
        ("Samsung", "T7 Portable SSD", 89.99, (("1TB", 1.0), ("2TB", 1.67))),
        ("SanDisk", "Extreme Portable SSD", 99.99, (("1TB", 1.0), ("2TB", 1.6))),
        ("Samsung", "PRO Plus microSDXC 256GB", 24.99, _ONE),
        ("SanDisk", "Ultra USB 3.0 Flash Drive 128GB", 12.99, _ONE),
        ("Synology", "DiskStation DS224+ 2-bay NAS", 299.99, _ONE),
        ("Synology", "DiskStation DS923+ 4-bay NAS", 599.99, _ONE),
    ),
    "networking": (
        ("TP-Link", "Archer AX55 Wi-Fi 6 Router", 129.99, _ONE),
        ("TP-Link", "Deco X55 Mesh Wi-Fi 6 (3-pack)", 279.99, _ONE),
        ("TP-Link", "Archer BE550 Wi-Fi 7 Router", 299.99, _ONE),
        ("TP-Link", "TL-SG108 8-Port Gigabit Switch", 19.99, _ONE),
        ("TP-Link", "UE300 USB-C Ethernet Adapter", 14.99, _ONE),
        ("Netgear", "Nighthawk RAX50 Router", 229.99, _ONE),
        ("Netgear", "Orbi RBK763S Mesh (3-pack)", 449.99, _ONE),
        ("Netgear", "GS308 8-Port Switch", 24.99, _ONE),
        ("ASUS", "RT-AX86U Pro Router", 249.99, _ONE),
        ("ASUS", "ZenWiFi XT8 (2-pack)", 399.99, _ONE),
        ("Ubiquiti", "UniFi U6 Lite Access Point", 99, _ONE),
        ("Ubiquiti", "UniFi Dream Machine Pro", 379, _ONE),
        ("Ubiquiti", "UniFi Switch Lite 8 PoE", 109, _ONE),
        ("eero", "6+ Mesh Wi-Fi (3-pack)", 299.99, _ONE),
        ("Linksys", "Velop MX4200 (2-pack)", 299.99, _ONE),
        ("Intel", "AX210 Wi-Fi 6E Card", 24.99, _ONE),
        ("Monoprice", "Cat6 Patch Cable", 6.99, (("3 ft", 1.0), ("10 ft", 1.43), ("25 ft", 2.0))),
    ),
    "components": (
        ("ASUS", "Dual GeForce RTX 4060 8GB", 299.99, _ONE),
        ("MSI", "GeForce RTX 4070 SUPER Ventus 2X 12GB", 599.99, _ONE),
        ("Gigabyte", "GeForce RTX 4080 SUPER Gaming OC 16GB", 999.99, _ONE),
        ("ASUS", "TUF Gaming GeForce RTX 4090 24GB", 1799.99, _ONE),
        ("Sapphire", "Pulse Radeon RX 7600 8GB", 269.99, _ONE),
        ("Sapphire", "Nitro+ Radeon RX 7800 XT 16GB", 519.99, _ONE),
        ("XFX", "Speedster MERC 310 RX 7900 XTX 24GB", 949.99, _ONE),
        ("AMD", "Ryzen 5 7600X", 229, _ONE),
        ("AMD", "Ryzen 7 7800X3D", 449, _ONE),
        ("AMD", "Ryzen 9 7950X", 549, _ONE),
        ("Intel", "Core i5-14600K", 319, _ONE),
        ("Intel", "Core i7-14700K", 409, _ONE),
        ("Intel", "Core i9-14900K", 549, _ONE),
        ("Corsair", "Vengeance DDR5-6000 32GB (2x16GB)", 109.99, _ONE),
        ("G.Skill", "Trident Z5 RGB DDR5-6400 32GB", 124.99, _ONE),
        ("Kingston", "FURY Beast DDR4-3200 16GB", 44.99, _ONE),
        ("Crucial", "DDR5-5600 64GB (2x32GB)", 189.99, _ONE),
        ("ASUS", "ROG Strix B650E-F Gaming WiFi", 279.99, _ONE),
        ("MSI", "MAG B760 Tomahawk WiFi", 189.99, _ONE),
        ("Gigabyte", "X670 AORUS Elite AX", 259.99, _ONE),
        ("Corsair", "RM850x 850W PSU", 139.99, _ONE),
        ("Seasonic", "Focus GX-750 750W PSU", 119.99, _ONE),
        ("be quiet!", "Pure Power 12 M 750W PSU", 109.99, _ONE),
        ("Fractal Design", "North ATX Case", 139.99, _ONE),
        ("Lian Li", "O11 Dynamic EVO", 169.99, _ONE),
        ("NZXT", "H5 Flow", 94.99, _ONE),
        ("Noctua", "NH-D15 CPU Cooler", 119.95, _ONE),
        ("Arctic", "Liquid Freezer III 280", 99.99, _ONE),
        ("Cooler Master", "Hyper 212 Black", 29.99, _ONE),
        ("be quiet!", "Dark Rock Pro 5", 99.99, _ONE),
        ("Raspberry Pi", "Raspberry Pi 5", 60, (("4GB", 1.0), ("8GB", 1.33))),
    ),
    "accessories": (
        ("Anker", "7-in-1 USB-C Hub", 39.99, _ONE),
        ("CalDigit", "TS4 Thunderbolt 4 Dock", 399.99, _ONE),
        ("Dell", "WD19S USB-C Dock", 199.99, _ONE),
        ("Logitech", "C920 HD Pro Webcam", 69.99, _ONE),
        ("Logitech", "Brio 4K Webcam", 199.99, _ONE),
        ("Elgato", "Facecam", 149.99, _ONE),
        ("Blue", "Yeti USB Microphone", 129.99, _ONE),
        ("RODE", "NT-USB Mini", 99, _ONE),
        ("Logitech", "Desk Mat Studio Series", 29.99, _ONE),
        ("SteelSeries", "QcK Large Mouse Pad", 14.99, _ONE),
        ("Rain Design", "mStand Laptop Stand", 49.99, _ONE),
        ("Ergotron", "LX Monitor Arm", 189, _ONE),
        ("Amazon Basics", "Single Monitor Arm", 39.99, _ONE),
        ("Belkin", "USB-C to USB-C Cable 2m", 19.99, _ONE),
        ("Anker", "737 Power Bank 24,000mAh", 99.99, _ONE),
        ("Anker", "Nano 65W GaN Charger", 45.99, _ONE),
        ("UGREEN", "HDMI 2.1 Cable 6 ft", 12.99, _ONE),
        ("Cable Matters", "DisplayPort 1.4 Cable 6 ft", 14.99, _ONE),
        ("Targus", '15.6" Laptop Backpack', 59.99, _ONE),
        ("Incase", 'Icon Sleeve 14"', 49.99, _ONE),
        ("Kensington", "Slim Laptop Lock", 39.99, _ONE),
        ("APC", "Back-UPS 600VA", 79.99, _ONE),
        ("Microsoft", "Surface Slim Pen 2", 99.99, _ONE),
        ("Wacom", "Intuos Small", 79.95, _ONE),
        ("Logitech", "Spotlight Presentation Remote", 129.99, _ONE),
        ("3M", '14" Laptop Privacy Filter', 59.99, _ONE),
        ("Raspberry Pi", "Official 27W USB-C Power Supply", 12, _ONE),
    ),
}

_CATEGORY_CODES = {
    "laptops": "lap",
    "desktops": "dsk",
    "monitors": "mon",
    "keyboards": "kbd",
    "mice": "mse",
    "headsets": "hds",
    "storage": "sto",
    "networking": "net",
    "components": "cmp",
    "accessories": "acc",
}


def _shop_price(listed_usd: float, multiplier: float, currency: str) -> float:
    """A shelf price: the listed USD price as is, or converted and ending in .99."""
    if currency == "USD" and multiplier == 1.0:
        return float(listed_usd)
    value = listed_usd * multiplier * _USD_TO[currency]
    if value >= 100:
        return math.floor(value / 10) * 10 + 9.99
    return math.floor(value) + 0.99


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace('"', "in ")).strip("-")


@functools.cache
def catalog() -> tuple[Product, ...]:
    """Every product, in a fixed order (the same on every call and every run)."""
    products: list[Product] = []
    for category in CATEGORIES:
        code = _CATEGORY_CODES[category]
        number = 0
        for brand, model, base_usd, variants in _TABLE[category]:
            currency = _BRAND_CURRENCY.get(brand, "USD")
            for suffix, multiplier in variants:
                number += 1
                name = f"{brand} {model}" + (f", {suffix}" if suffix else "")
                if brand == "Raspberry Pi" and model.startswith("Raspberry Pi"):
                    name = model + (f", {suffix}" if suffix else "")
                price = _shop_price(base_usd, multiplier, currency)
                products.append(
                    Product(
                        product_id=f"sku-{code}-{number:04d}",
                        name=name,
                        category=category,
                        brand=brand,
                        price=round(price, 2),
                        currency=currency,
                        slug=_slug(name),
                    )
                )
    return tuple(products)
