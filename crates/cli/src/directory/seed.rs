//! `provisio directory seed`: a deterministic, realistic synthetic directory.
//!
//! Same seed, same bytes. Memory stays flat whatever the size because everything that links
//! users (their principal names, departments and managers) is a pure function of the user's
//! index; only the other attributes come from the seeded random stream, read in order.
//!
//! - Names come from a dozen cultures, with diacritics and other scripts; a user principal
//!   name is the ASCII-folded (or romanised) `first.last`, then `first.last2`, `first.last3`…
//!   once every name pair is taken: name pair = a seeded permutation of `index mod pairs`.
//! - User 0 is the CEO, users 1..=12 head the twelve departments and report to the CEO; the
//!   rest are spread over departments by weight, and within a department form a tree with
//!   [`FANOUT`] reports per manager. A manager always has a smaller index, so it comes first.
//! - Groups: one per department (its head and everyone in it), then project groups with a few
//!   random members; every fourth project group also contains one or two earlier groups, so
//!   nesting never forms a cycle. Groups come after all users.

use std::io::Write;

use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::read::Record;
use provisio_directory::ObjectKind;

pub struct Config {
    pub users: u64,
    pub groups: u64,
    pub seed: u64,
    pub domain: String,
}

/// Direct reports per manager inside a department.
pub const FANOUT: u64 = 8;

struct Department {
    name: &'static str,
    /// Share of the staff, in percent (the shares add up to 100).
    weight: u8,
    titles: &'static [&'static str],
    manager_title: &'static str,
}

const fn dept(
    name: &'static str,
    weight: u8,
    titles: &'static [&'static str],
    manager_title: &'static str,
) -> Department {
    Department {
        name,
        weight,
        titles,
        manager_title,
    }
}

const DEPARTMENTS: &[Department] = &[
    dept(
        "Engineering",
        28,
        &[
            "Software Engineer",
            "Senior Software Engineer",
            "Site Reliability Engineer",
            "QA Engineer",
        ],
        "Engineering Manager",
    ),
    dept(
        "Sales",
        16,
        &[
            "Account Executive",
            "Sales Development Representative",
            "Solutions Consultant",
        ],
        "Sales Manager",
    ),
    dept(
        "Customer Support",
        12,
        &[
            "Support Specialist",
            "Technical Support Engineer",
            "Customer Success Manager",
        ],
        "Support Team Lead",
    ),
    dept(
        "Marketing",
        8,
        &[
            "Marketing Specialist",
            "Content Strategist",
            "Product Marketing Manager",
        ],
        "Marketing Manager",
    ),
    dept(
        "Operations",
        7,
        &[
            "Operations Analyst",
            "Logistics Coordinator",
            "Procurement Specialist",
        ],
        "Operations Manager",
    ),
    dept(
        "Finance",
        6,
        &["Accountant", "Financial Analyst", "Payroll Specialist"],
        "Finance Manager",
    ),
    dept(
        "Product Management",
        6,
        &["Product Manager", "Product Designer", "UX Researcher"],
        "Group Product Manager",
    ),
    dept(
        "Human Resources",
        5,
        &[
            "HR Business Partner",
            "Recruiter",
            "People Operations Specialist",
        ],
        "HR Manager",
    ),
    dept(
        "IT",
        4,
        &[
            "IT Support Technician",
            "Systems Administrator",
            "Identity Engineer",
        ],
        "IT Manager",
    ),
    dept(
        "Legal",
        3,
        &["Legal Counsel", "Paralegal", "Compliance Analyst"],
        "Legal Director",
    ),
    dept(
        "Research",
        3,
        &["Research Scientist", "Data Scientist", "Research Engineer"],
        "Research Lead",
    ),
    dept(
        "Facilities",
        2,
        &[
            "Facilities Coordinator",
            "Office Manager",
            "Workplace Specialist",
        ],
        "Facilities Manager",
    ),
];
const DEPTS: u64 = DEPARTMENTS.len() as u64;
/// Index of the first user who is neither the CEO nor a department head.
const FIRST_STAFF: u64 = 1 + DEPTS;

struct Location {
    city: &'static str,
    country: &'static str,
    usage: &'static str,
    code: &'static str,
    language: &'static str,
    phone: &'static str,
    mobile: &'static str,
}

const fn loc(
    city: &'static str,
    country: &'static str,
    usage: &'static str,
    code: &'static str,
    language: &'static str,
    phone: &'static str,
    mobile: &'static str,
) -> Location {
    Location {
        city,
        country,
        usage,
        code,
        language,
        phone,
        mobile,
    }
}

const LOCATIONS: &[Location] = &[
    loc(
        "Seattle",
        "United States",
        "US",
        "SEA",
        "en-US",
        "+1 206 555",
        "+1 425 555",
    ),
    loc(
        "London",
        "United Kingdom",
        "GB",
        "LON",
        "en-GB",
        "+44 20 7946",
        "+44 7700 900",
    ),
    loc(
        "Berlin",
        "Germany",
        "DE",
        "BER",
        "de-DE",
        "+49 30 5557",
        "+49 151 555",
    ),
    loc(
        "Paris",
        "France",
        "FR",
        "PAR",
        "fr-FR",
        "+33 1 7010",
        "+33 6 1234",
    ),
    loc(
        "Madrid",
        "Spain",
        "ES",
        "MAD",
        "es-ES",
        "+34 91 555",
        "+34 612 555",
    ),
    loc(
        "København",
        "Denmark",
        "DK",
        "CPH",
        "da-DK",
        "+45 32 55",
        "+45 20 55",
    ),
    loc(
        "Stockholm",
        "Sweden",
        "SE",
        "STO",
        "sv-SE",
        "+46 8 555",
        "+46 70 555",
    ),
    loc(
        "Kraków",
        "Poland",
        "PL",
        "KRK",
        "pl-PL",
        "+48 12 555",
        "+48 600 555",
    ),
    loc(
        "São Paulo",
        "Brazil",
        "BR",
        "SAO",
        "pt-BR",
        "+55 11 5555",
        "+55 11 9555",
    ),
    loc(
        "Tokyo",
        "Japan",
        "JP",
        "TYO",
        "ja-JP",
        "+81 3 5555",
        "+81 90 5555",
    ),
    loc(
        "Shanghai",
        "China",
        "CN",
        "SHA",
        "zh-CN",
        "+86 21 5555",
        "+86 139 5555",
    ),
    loc(
        "Bengaluru",
        "India",
        "IN",
        "BLR",
        "en-IN",
        "+91 80 5555",
        "+91 98 5555",
    ),
    loc(
        "Zürich",
        "Switzerland",
        "CH",
        "ZRH",
        "de-CH",
        "+41 44 555",
        "+41 79 555",
    ),
    loc(
        "Athens",
        "Greece",
        "GR",
        "ATH",
        "el-GR",
        "+30 21 0555",
        "+30 69 5555",
    ),
    loc(
        "Dublin",
        "Ireland",
        "IE",
        "DUB",
        "en-IE",
        "+353 1 555",
        "+353 85 555",
    ),
];

/// Names of one culture. A name written `display|ascii` is romanised by hand; the others
/// are ASCII-folded by [`fold`].
struct Culture {
    first: &'static [&'static str],
    last: &'static [&'static str],
    /// Family name first in the display name, without a space (Chinese, Japanese).
    family_first: bool,
    /// Indexes into [`LOCATIONS`] where most people of this culture work.
    homes: &'static [usize],
}

const CULTURES: &[Culture] = &[
    Culture {
        first: &[
            "Søren", "Björn", "Åsa", "Ingrid", "Lars", "Freja", "Magnus", "Sigrid", "Mikkel",
            "Astrid", "Øystein", "Linnéa", "Henrik", "Maja", "Jørgen", "Solveig",
        ],
        last: &[
            "Ærøskøbing",
            "Jørgensen",
            "Lindqvist",
            "Sørensen",
            "Østergaard",
            "Bergström",
            "Håkansson",
            "Nyström",
            "Dahl",
            "Holm",
            "Ødegård",
            "Åberg",
            "Lövgren",
            "Kjær",
            "Nielsen",
            "Eriksson",
        ],
        family_first: false,
        homes: &[5, 6],
    },
    Culture {
        first: &[
            "Jürgen",
            "Lukas",
            "Zoë",
            "Anneliese",
            "Maximilian",
            "Jörg",
            "Greta",
            "Matthias",
            "Käthe",
            "Fenna",
            "Dieter",
            "Lotte",
            "Ruud",
            "Anouk",
            "Heinz",
            "Mareike",
        ],
        last: &[
            "Müller",
            "Schröder",
            "Weiß",
            "Groß",
            "Bäcker",
            "Köhler",
            "Fischer",
            "van der Berg",
            "de Vries",
            "Jansen",
            "Schäfer",
            "Krüger",
            "Hoffmann",
            "Zimmermann",
            "Wölfel",
            "Brandt",
        ],
        family_first: false,
        homes: &[2, 12],
    },
    Culture {
        first: &[
            "Chloé",
            "Élodie",
            "François",
            "Hélène",
            "Jérôme",
            "Théo",
            "Léa",
            "Gaëlle",
            "Benoît",
            "Anaïs",
            "Noël",
            "Margaux",
            "Sébastien",
            "Maëlle",
            "Céline",
            "Aurélien",
        ],
        last: &[
            "Lefèvre",
            "Dubois",
            "Moreau",
            "Girard",
            "Bérenger",
            "Faure",
            "Rousseau",
            "Lemaître",
            "Chevalier",
            "Dupré",
            "Mercier",
            "Boucher",
            "Fontaine",
            "Gauthier",
            "Leclère",
            "Perrin",
        ],
        family_first: false,
        homes: &[3],
    },
    Culture {
        first: &[
            "José",
            "María",
            "Iñaki",
            "Sofía",
            "Álvaro",
            "Lucía",
            "João",
            "Conceição",
            "Ramón",
            "Inês",
            "Tomás",
            "Begoña",
            "Joaquín",
            "Valentina",
            "Gonçalo",
            "Ximena",
        ],
        last: &[
            "García",
            "Núñez",
            "Muñoz",
            "Peña",
            "Gonçalves",
            "Fernández",
            "Ibáñez",
            "Araújo",
            "Castaño",
            "Rodríguez",
            "Magalhães",
            "Pérez",
            "Sánchez",
            "Ortiz",
            "Simões",
            "Beltrán",
        ],
        family_first: false,
        homes: &[4, 8],
    },
    Culture {
        first: &[
            "Łukasz",
            "Małgorzata",
            "Wojciech",
            "Zofia",
            "Paweł",
            "Agnieszka",
            "Grzegorz",
            "Jiří",
            "Tereza",
            "Radosław",
            "Bożena",
            "Ondřej",
            "Kateřina",
            "Przemysław",
            "Mikołaj",
            "Dagmar",
        ],
        last: &[
            "Nowak",
            "Wiśniewski",
            "Wójcik",
            "Kowalczyk",
            "Dvořák",
            "Szymański",
            "Dąbrowski",
            "Zieliński",
            "Kamiński",
            "Procházka",
            "Černý",
            "Kuchař",
            "Jabłoński",
            "Grabowski",
            "Svoboda",
            "Łęcki",
        ],
        family_first: false,
        homes: &[7],
    },
    Culture {
        first: &[
            "Oliver",
            "Amelia",
            "Siobhán",
            "Liam",
            "Charlotte",
            "Niamh",
            "George",
            "Isla",
            "Seán",
            "Harper",
            "Jack",
            "Aoife",
            "Noah",
            "Emily",
            "Owen",
            "Grace",
        ],
        last: &[
            "Smith",
            "O'Brien",
            "Johnson",
            "Williams",
            "Brown",
            "Taylor",
            "MacDonald",
            "Murphy",
            "Walsh",
            "Clarke",
            "Evans",
            "Hughes",
            "Kelly",
            "Wright",
            "Byrne",
            "Fitzgerald",
        ],
        family_first: false,
        homes: &[0, 1, 14],
    },
    Culture {
        first: &[
            "伟|wei",
            "芳|fang",
            "娜|na",
            "秀英|xiuying",
            "敏|min",
            "静|jing",
            "强|qiang",
            "磊|lei",
            "洋|yang",
            "艳|yan",
        ],
        last: &[
            "王|wang",
            "李|li",
            "张|zhang",
            "刘|liu",
            "陈|chen",
            "杨|yang",
            "黄|huang",
            "赵|zhao",
            "吴|wu",
            "周|zhou",
        ],
        family_first: true,
        homes: &[10],
    },
    Culture {
        first: &[
            "翔太|shota",
            "陽菜|hina",
            "蓮|ren",
            "結衣|yui",
            "大翔|hiroto",
            "さくら|sakura",
            "悠真|yuma",
            "美咲|misaki",
        ],
        last: &[
            "佐藤|sato",
            "鈴木|suzuki",
            "高橋|takahashi",
            "田中|tanaka",
            "伊藤|ito",
            "渡辺|watanabe",
            "山本|yamamoto",
            "中村|nakamura",
        ],
        family_first: true,
        homes: &[9],
    },
    Culture {
        first: &[
            "Γιώργος|giorgos",
            "Ελένη|eleni",
            "Δημήτρης|dimitris",
            "Κατερίνα|katerina",
            "Νίκος|nikos",
            "Σοφία|sofia",
        ],
        last: &[
            "Παπαδόπουλος|papadopoulos",
            "Οικονόμου|oikonomou",
            "Γεωργίου|georgiou",
            "Νικολάου|nikolaou",
            "Βλάχος|vlachos",
            "Αλεξίου|alexiou",
        ],
        family_first: false,
        homes: &[13],
    },
    Culture {
        first: &[
            "Aarav", "Priya", "Ananya", "Vihaan", "Rohan", "Diya", "Arjun", "Saanvi", "Ishaan",
            "Kavya",
        ],
        last: &[
            "Sharma",
            "Patel",
            "Iyer",
            "Reddy",
            "Gupta",
            "Nair",
            "Mukherjee",
            "Rao",
            "Banerjee",
            "Menon",
        ],
        family_first: false,
        homes: &[11],
    },
];

const PROJECTS: &[&str] = &[
    "Aurora",
    "Borealis",
    "Cobalt",
    "Dynamo",
    "Ember",
    "Fjord",
    "Granite",
    "Halcyon",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Nimbus",
    "Obsidian",
    "Polaris",
    "Quasar",
    "Ridgeline",
    "Sirocco",
    "Tundra",
    "Umbra",
    "Vertex",
    "Willow",
    "Xenon",
    "Yarrow",
    "Zephyr",
];

/// The display part of a `display|ascii` name.
fn display(name: &'static str) -> &'static str {
    name.split_once('|').map_or(name, |(d, _)| d)
}

/// A name as it appears in a user principal name: lower-case ASCII letters and `-`.
pub fn fold(name: &str) -> String {
    if let Some((_, ascii)) = name.split_once('|') {
        return ascii.to_string();
    }
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'a'..='z' | '0'..='9' | '-' => {
                out.push(c);
                continue;
            }
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ą' => "a",
            'æ' => "ae",
            'ç' | 'č' | 'ć' => "c",
            'ď' => "d",
            'è' | 'é' | 'ê' | 'ë' | 'ě' | 'ę' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ł' => "l",
            'ñ' | 'ń' | 'ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
            'œ' => "oe",
            'ř' => "r",
            'ś' | 'š' | 'ş' => "s",
            'ß' => "ss",
            'ť' => "t",
            'ù' | 'ú' | 'û' | 'ü' | 'ů' => "u",
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' | 'ž' => "z",
            _ => "", // spaces, apostrophes
        };
        out.push_str(folded);
    }
    out
}

/// Every name pair, culture by culture: `(culture, first, last)`.
fn pair(mut index: u64) -> (&'static Culture, &'static str, &'static str) {
    for culture in CULTURES {
        let (f, l) = (culture.first.len() as u64, culture.last.len() as u64);
        if index < f * l {
            return (
                culture,
                culture.first[(index % f) as usize],
                culture.last[(index / f) as usize],
            );
        }
        index -= f * l;
    }
    unreachable!("index below the number of pairs")
}

fn pairs() -> u64 {
    CULTURES
        .iter()
        .map(|c| (c.first.len() * c.last.len()) as u64)
        .sum()
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A user's place in the organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Ceo,
    Head(usize),
    /// The `k`-th member of department `d` below its head.
    Staff(usize, u64),
}

/// What links users to each other and to groups: pure functions of indexes.
struct Layout {
    users: u64,
    groups: u64,
    domain: String,
    pairs: u64,
    /// Name pair of user `i`: `(a × (i mod pairs) + b) mod pairs`, a permutation.
    a: u64,
    b: u64,
    /// Department of each slot of a block of 100 staff, spread by weight.
    pattern: [u8; 100],
    /// How many earlier slots of the block have the same department.
    rank: [u8; 100],
    /// For each department, its slots in order.
    slots: Vec<Vec<u8>>,
    /// `first.last` of each name pair, folded once rather than for every user and reference.
    nicknames: Vec<String>,
}

impl Layout {
    fn new(config: &Config, rng: &mut StdRng) -> Self {
        let pairs = pairs();
        let a = loop {
            let a = rng.random_range(1..pairs);
            if gcd(a, pairs) == 1 {
                break a;
            }
        };
        let b = rng.random_range(0..pairs);
        // Smooth weighted round robin: each department's slots are spread over the block.
        let mut pattern = [0u8; 100];
        let mut rank = [0u8; 100];
        let mut slots = vec![Vec::new(); DEPARTMENTS.len()];
        let mut credit = [0i32; DEPARTMENTS.len()];
        for slot in 0..100 {
            for (d, department) in DEPARTMENTS.iter().enumerate() {
                credit[d] += i32::from(department.weight);
            }
            let d = (0..DEPARTMENTS.len())
                .max_by_key(|d| (credit[*d], std::cmp::Reverse(*d)))
                .expect("departments");
            credit[d] -= 100;
            pattern[slot] = d as u8;
            rank[slot] = slots[d].len() as u8;
            slots[d].push(slot as u8);
        }
        Layout {
            users: config.users,
            groups: config.groups,
            domain: config.domain.clone(),
            pairs,
            a,
            b,
            pattern,
            rank,
            slots,
            nicknames: (0..pairs)
                .map(|p| {
                    let (_, first, last) = pair(p);
                    format!("{}.{}", fold(first), fold(last))
                })
                .collect(),
        }
    }

    fn names(&self, i: u64) -> (&'static Culture, &'static str, &'static str, u64) {
        let (culture, first, last) = pair((self.a * (i % self.pairs) + self.b) % self.pairs);
        (culture, first, last, i / self.pairs)
    }

    /// `zoe.muller`, then `zoe.muller2`, …
    fn nickname(&self, i: u64) -> String {
        let round = i / self.pairs;
        let mut nick =
            self.nicknames[((self.a * (i % self.pairs) + self.b) % self.pairs) as usize].clone();
        if round > 0 {
            nick.push_str(&(round + 1).to_string());
        }
        nick
    }

    fn upn(&self, i: u64) -> String {
        format!("{}@{}", self.nickname(i), self.domain)
    }

    fn role(&self, i: u64) -> Role {
        if i == 0 {
            return Role::Ceo;
        }
        if i < FIRST_STAFF {
            return Role::Head((i - 1) as usize);
        }
        let j = i - FIRST_STAFF;
        let slot = (j % 100) as usize;
        let d = self.pattern[slot] as usize;
        let k = (j / 100) * u64::from(DEPARTMENTS[d].weight) + u64::from(self.rank[slot]);
        Role::Staff(d, k)
    }

    /// The user index of the `k`-th member of department `d`.
    fn staff_index(&self, d: usize, k: u64) -> u64 {
        let weight = u64::from(DEPARTMENTS[d].weight);
        FIRST_STAFF + (k / weight) * 100 + u64::from(self.slots[d][(k % weight) as usize])
    }

    /// How many staff department `d` has (its head not counted).
    fn staff_count(&self, d: usize) -> u64 {
        let staff = self.users.saturating_sub(FIRST_STAFF);
        let partial = self.slots[d]
            .iter()
            .filter(|s| u64::from(**s) < staff % 100)
            .count() as u64;
        (staff / 100) * u64::from(DEPARTMENTS[d].weight) + partial
    }

    fn manager(&self, i: u64) -> Option<u64> {
        match self.role(i) {
            Role::Ceo => None,
            Role::Head(_) => Some(0),
            Role::Staff(d, k) if k < FANOUT => Some(1 + d as u64),
            Role::Staff(d, k) => Some(self.staff_index(d, k / FANOUT - 1)),
        }
    }

    fn has_reports(&self, i: u64) -> bool {
        match self.role(i) {
            Role::Ceo => self.users > 1,
            Role::Head(d) => self.staff_count(d) > 0,
            Role::Staff(d, k) => (k + 1) * FANOUT < self.staff_count(d),
        }
    }

    fn group_nickname(&self, g: u64) -> String {
        if g < DEPTS {
            return format!(
                "dept-{}",
                fold(&DEPARTMENTS[g as usize].name.replace(' ', "-"))
            );
        }
        let p = g - DEPTS;
        let name = PROJECTS[(p % PROJECTS.len() as u64) as usize].to_ascii_lowercase();
        match p / PROJECTS.len() as u64 {
            0 => format!("project-{name}"),
            round => format!("project-{name}-{}", round + 1),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct User {
    user_principal_name: String,
    display_name: String,
    given_name: &'static str,
    surname: &'static str,
    mail_nickname: String,
    mail: String,
    job_title: &'static str,
    department: &'static str,
    company_name: String,
    employee_id: String,
    employee_type: &'static str,
    employee_hire_date: String,
    account_enabled: bool,
    business_phones: [String; 1],
    mobile_phone: String,
    office_location: String,
    city: &'static str,
    country: &'static str,
    usage_location: &'static str,
    preferred_language: &'static str,
    user_type: &'static str,
    #[serde(rename = "extension_b7d5f1c2a9e84c3f9a6d2e1f0c4b8a75_costCenter")]
    cost_center: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    manager: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Group<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: &'static str,
    display_name: String,
    mail_nickname: String,
    description: String,
    mail: String,
    security_enabled: bool,
    mail_enabled: bool,
    members: Members<'a>,
}

/// A group's members, written as they are produced (a department may have hundreds of
/// thousands).
struct Members<'a> {
    layout: &'a Layout,
    /// The department's head and staff: positions `range` of the sequence head, staff 0, …
    department: Option<(usize, std::ops::Range<u64>)>,
    users: Vec<u64>,
    groups: Vec<u64>,
}

impl Serialize for Members<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        if let Some((d, range)) = &self.department {
            let d = *d;
            let has_head = self.layout.users > 1 + d as u64;
            for position in range.clone() {
                let user = match (has_head, position) {
                    (true, 0) => 1 + d as u64,
                    (true, p) => self.layout.staff_index(d, p - 1),
                    (false, p) => self.layout.staff_index(d, p),
                };
                seq.serialize_element(&self.layout.upn(user))?;
            }
        }
        for i in &self.users {
            seq.serialize_element(&self.layout.upn(*i))?;
        }
        for g in &self.groups {
            seq.serialize_element(&self.layout.group_nickname(*g))?;
        }
        seq.end()
    }
}

/// Members per group record (see [`Generator::group_records`]).
const MEMBERS_PER_RECORD: u64 = 1000;

/// Produces the users, then the groups, in order.
pub struct Generator {
    layout: Layout,
    rng: StdRng,
    company: String,
}

impl Generator {
    pub fn new(config: Config) -> Self {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let layout = Layout::new(&config, &mut rng);
        let label = config.domain.split('.').next().unwrap_or("contoso");
        let mut company: String = label.chars().take(1).flat_map(char::to_uppercase).collect();
        company.push_str(&label.chars().skip(1).collect::<String>());
        company.push_str(" Ltd.");
        Generator {
            layout,
            rng,
            company,
        }
    }

    fn user(&mut self, i: u64) -> User {
        let layout = &self.layout;
        let rng = &mut self.rng;
        let (culture, first, last, _) = layout.names(i);
        let (given, family) = (display(first), display(last));
        let role = layout.role(i);
        let department = match role {
            Role::Ceo => None,
            Role::Head(d) | Role::Staff(d, _) => Some(&DEPARTMENTS[d]),
        };
        let job_title = match (role, department) {
            (Role::Ceo, _) => "Chief Executive Officer",
            (Role::Head(_), Some(d)) => d.manager_title,
            (_, Some(d)) if layout.has_reports(i) => d.manager_title,
            (_, Some(d)) => d.titles[rng.random_range(0..d.titles.len())],
            (_, None) => unreachable!("only the CEO has no department"),
        };
        let staff = matches!(role, Role::Staff(..));
        let guest = staff && !layout.has_reports(i) && rng.random_ratio(1, 100);
        let employee_type = if guest {
            "External"
        } else if staff {
            match rng.random_range(0..100) {
                0..=84 => "Employee",
                85..=95 => "Contractor",
                _ => "Intern",
            }
        } else {
            "Employee"
        };
        let location = if rng.random_ratio(3, 4) {
            &LOCATIONS[culture.homes[rng.random_range(0..culture.homes.len())]]
        } else {
            &LOCATIONS[rng.random_range(0..LOCATIONS.len())]
        };
        let nickname = layout.nickname(i);
        let upn = format!("{nickname}@{}", layout.domain);
        User {
            display_name: if culture.family_first {
                format!("{family}{given}")
            } else {
                format!("{given} {family}")
            },
            given_name: given,
            surname: family,
            mail: upn.clone(),
            user_principal_name: upn,
            mail_nickname: nickname,
            job_title,
            department: department.map_or("Executive Office", |d| d.name),
            company_name: self.company.clone(),
            employee_id: format!("E{:08}", i + 1),
            employee_type,
            employee_hire_date: format!(
                "{}-{:02}-{:02}T08:00:00Z",
                rng.random_range(2005..=2025),
                rng.random_range(1..=12),
                rng.random_range(1..=28)
            ),
            account_enabled: !(staff && rng.random_ratio(3, 100)),
            business_phones: [format!(
                "{} {:04}",
                location.phone,
                rng.random_range(0..10_000)
            )],
            mobile_phone: format!(
                "{} {:03} {:03}",
                location.mobile,
                rng.random_range(0..1000),
                rng.random_range(0..1000)
            ),
            office_location: format!(
                "{} {}/{}.{:02}",
                location.code,
                rng.random_range(1..=6),
                rng.random_range(0..=9),
                rng.random_range(1..=40)
            ),
            city: location.city,
            country: location.country,
            usage_location: location.usage,
            preferred_language: location.language,
            user_type: if guest { "Guest" } else { "Member" },
            cost_center: match role {
                Role::Ceo => "CC-0000".to_string(),
                Role::Head(d) | Role::Staff(d, _) => {
                    format!("CC-{:02}{:02}", d + 1, rng.random_range(0..20))
                }
            },
            manager: layout.manager(i).map(|m| layout.upn(m)),
        }
    }

    /// How many records group `g` is written as: a department's members come
    /// [`MEMBERS_PER_RECORD`] at a time, each record repeating the group's properties (an
    /// import upserts the group and adds the members), so that no line grows with the
    /// directory and an importer's memory stays flat.
    fn group_records(&self, g: u64) -> u64 {
        if g < DEPTS {
            self.department_members(g as usize)
                .div_ceil(MEMBERS_PER_RECORD)
                .max(1)
        } else {
            1
        }
    }

    fn department_members(&self, d: usize) -> u64 {
        let head = u64::from(self.layout.users > 1 + d as u64);
        head + self.layout.staff_count(d)
    }

    /// Record `part` of group `g`.
    fn group(&mut self, g: u64, part: u64) -> Group<'_> {
        let nickname = self.layout.group_nickname(g);
        let mail = format!("{nickname}@{}", self.layout.domain);
        if g < DEPTS {
            let d = g as usize;
            let total = self.department_members(d);
            let start = (part * MEMBERS_PER_RECORD).min(total);
            let end = (start + MEMBERS_PER_RECORD).min(total);
            let layout = &self.layout;
            return Group {
                odata_type: "#microsoft.graph.group",
                display_name: format!("{} (all)", DEPARTMENTS[d].name),
                mail_nickname: nickname,
                description: format!("Everyone in {}.", DEPARTMENTS[d].name),
                mail,
                security_enabled: true,
                mail_enabled: true,
                members: Members {
                    layout,
                    department: Some((d, start..end)),
                    users: Vec::new(),
                    groups: Vec::new(),
                },
            };
        }
        let layout = &self.layout;
        let rng = &mut self.rng;
        let mut users = Vec::new();
        if layout.users > 0 {
            let wanted = rng.random_range(3..=40).min(layout.users);
            while (users.len() as u64) < wanted {
                let i = rng.random_range(0..layout.users);
                if !users.contains(&i) {
                    users.push(i);
                }
            }
        }
        let mut groups = Vec::new();
        if (g - DEPTS) % 4 == 3 {
            // Only earlier groups: nesting never forms a cycle.
            for _ in 0..rng.random_range(1..=2) {
                let earlier = rng.random_range(0..g);
                if !groups.contains(&earlier) {
                    groups.push(earlier);
                }
            }
        }
        let project = PROJECTS[((g - DEPTS) % PROJECTS.len() as u64) as usize];
        let round = (g - DEPTS) / PROJECTS.len() as u64;
        Group {
            odata_type: "#microsoft.graph.group",
            display_name: if round == 0 {
                format!("Project {project}")
            } else {
                format!("Project {project} {}", round + 1)
            },
            mail_nickname: nickname,
            description: format!("Members of project {project}."),
            mail,
            security_enabled: true,
            mail_enabled: false,
            members: Members {
                layout,
                department: None,
                users,
                groups,
            },
        }
    }

    /// Writes the directory as JSON Lines; returns the number of records.
    pub fn write_jsonl(
        mut self,
        out: &mut impl Write,
        progress: &ProgressBar,
    ) -> std::io::Result<u64> {
        let (users, groups) = (self.layout.users, self.layout.groups);
        for i in 0..users {
            serde_json::to_writer(&mut *out, &self.user(i))?;
            out.write_all(b"\n")?;
            if i % 4096 == 4095 {
                progress.inc(4096);
            }
        }
        progress.set_position(users);
        let mut written = users;
        for g in 0..groups {
            for part in 0..self.group_records(g) {
                serde_json::to_writer(&mut *out, &self.group(g, part))?;
                out.write_all(b"\n")?;
                written += 1;
            }
            progress.inc(1);
        }
        Ok(written)
    }

    /// The same records as [`Generator::write_jsonl`] writes, with its line numbers.
    pub fn records(self) -> impl Iterator<Item = Record> + Send {
        let (users, groups) = (self.layout.users, self.layout.groups);
        let parts: Vec<(u64, u64)> = (0..groups)
            .flat_map(|g| (0..self.group_records(g)).map(move |part| (g, part)))
            .collect();
        let mut generator = self;
        let mut line = 0u64;
        (0..users)
            .map(Err)
            .chain(parts.into_iter().map(Ok))
            .map(move |which| {
                line += 1;
                let (kind, value) = match which {
                    Err(n) => (ObjectKind::User, serde_json::to_value(generator.user(n))),
                    Ok((g, part)) => (
                        ObjectKind::Group,
                        serde_json::to_value(generator.group(g, part)),
                    ),
                };
                let object = match value {
                    Ok(Value::Object(object)) => object,
                    _ => Map::new(),
                };
                Record { line, kind, object }
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::super::read::{Item, JsonLines};
    use super::*;
    use provisio_directory::{import, ObjectRef, ReferenceKind};

    fn seeded(users: u64, groups: u64, seed: u64) -> Vec<u8> {
        let mut out = Vec::new();
        Generator::new(Config {
            users,
            groups,
            seed,
            domain: "contoso.example".into(),
        })
        .write_jsonl(&mut out, &ProgressBar::hidden())
        .unwrap();
        out
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let one = seeded(500, 30, 7);
        assert_eq!(one, seeded(500, 30, 7));
        assert_ne!(one, seeded(500, 30, 8));
        assert_eq!(one.iter().filter(|b| **b == b'\n').count(), 530);
    }

    #[test]
    fn records_for_a_server_are_the_lines_of_the_file() {
        let config = || Config {
            users: 40,
            groups: 15,
            seed: 3,
            domain: "contoso.example".into(),
        };
        let file = seeded(40, 15, 3);
        let lines: Vec<&[u8]> = file
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let records: Vec<Record> = Generator::new(config()).records().collect();
        assert_eq!(records.len(), lines.len());
        for (record, line) in records.iter().zip(&lines) {
            let expected: Map<String, Value> = serde_json::from_slice(line).unwrap();
            assert_eq!(record.object, expected, "line {}", record.line);
        }
        assert_eq!(records[40].kind, ObjectKind::Group);
        assert_eq!(records[40].line, 41);
    }

    #[test]
    fn every_pair_of_names_folds_to_a_distinct_ascii_nickname() {
        let mut seen = HashSet::new();
        for index in 0..pairs() {
            let (_, first, last) = pair(index);
            let nick = format!("{}.{}", fold(first), fold(last));
            assert!(
                nick.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'-'),
                "{first} {last}: {nick}"
            );
            assert!(
                !fold(first).is_empty() && !fold(last).is_empty(),
                "{first} {last}"
            );
            assert!(seen.insert(nick.clone()), "{first} {last} → {nick} twice");
        }
    }

    #[test]
    fn the_layout_places_every_staff_member_once() {
        let mut rng = StdRng::seed_from_u64(1);
        let config = Config {
            users: 12_345,
            groups: 0,
            seed: 1,
            domain: "x.example".into(),
        };
        let layout = Layout::new(&config, &mut rng);
        let mut counts = [0u64; DEPARTMENTS.len()];
        for i in FIRST_STAFF..config.users {
            let Role::Staff(d, k) = layout.role(i) else {
                panic!("{i} is staff")
            };
            assert_eq!(k, counts[d], "staff of a department are numbered in order");
            counts[d] += 1;
            assert_eq!(layout.staff_index(d, k), i);
        }
        for (d, count) in counts.iter().enumerate() {
            assert_eq!(layout.staff_count(d), *count, "{}", DEPARTMENTS[d].name);
        }
        let engineering = counts[0] as f64 / (config.users - FIRST_STAFF) as f64;
        assert!((engineering - 0.28).abs() < 0.01, "{engineering}");
    }

    /// Reads a seeded directory back as `directory import` would and checks what a real
    /// directory guarantees.
    #[test]
    fn a_seeded_directory_is_valid_and_consistent() {
        let (users, groups) = (6_000, 80);
        let file = seeded(users, groups, 11);
        let mut upns = HashSet::new();
        let mut employee_ids = HashSet::new();
        let mut group_names = HashSet::new();
        let mut disabled = 0;
        let mut guests = 0;
        let mut reports: HashMap<String, u64> = HashMap::new();
        let mut nested = 0;
        let mut last_group: Option<String> = None;
        for item in JsonLines::new(&file[..], ObjectKind::User) {
            let Item::Record(record) = item.unwrap() else {
                panic!("every line is a JSON object")
            };
            let object = record.object.clone();
            let (valid, links) = import::record(record.line, record.kind, record.object)
                .unwrap_or_else(|e| panic!("line {}: {}", record.line, e.message));
            match record.kind {
                ObjectKind::User => {
                    assert!(group_names.is_empty(), "users come before groups");
                    let upn = object["userPrincipalName"].as_str().unwrap().to_string();
                    assert!(upn.is_ascii(), "{upn}");
                    assert!(employee_ids.insert(object["employeeId"].clone()), "{upn}");
                    disabled += u64::from(valid.data["accountEnabled"] == false);
                    guests += u64::from(valid.data["userType"] == "Guest");
                    for link in &links {
                        assert_eq!(link.kind, ReferenceKind::Manager);
                        let ObjectRef::UserPrincipalName(manager) = &link.to else {
                            panic!("a manager by name")
                        };
                        assert!(
                            upns.contains(manager),
                            "line {}: manager {manager} comes later",
                            record.line
                        );
                        *reports.entry(manager.clone()).or_default() += 1;
                    }
                    assert!(upns.insert(upn));
                }
                ObjectKind::Group => {
                    for link in &links {
                        match &link.to {
                            ObjectRef::UserPrincipalName(u) => assert!(upns.contains(u), "{u}"),
                            // Only earlier groups: no cycles.
                            ObjectRef::MailNickname(g) => {
                                nested += 1;
                                assert!(group_names.contains(g), "line {}: {g}", record.line)
                            }
                            ObjectRef::Id(_) => panic!("no ids"),
                        }
                    }
                    let nick = object["mailNickname"].as_str().unwrap().to_string();
                    // A large group continues on the next records, and only there.
                    if last_group.as_deref() != Some(nick.as_str()) {
                        assert!(group_names.insert(nick.clone()), "{nick} split apart");
                    }
                    let size = links.len() as u64;
                    assert!(
                        size <= MEMBERS_PER_RECORD,
                        "{nick}: {size} members on one line"
                    );
                    last_group = Some(nick);
                }
                ObjectKind::ServicePrincipal => unreachable!(),
            }
        }
        assert_eq!(upns.len() as u64, users);
        assert_eq!(group_names.len() as u64, groups);
        assert_eq!(
            reports.values().sum::<u64>(),
            users - 1,
            "everyone but the CEO has a manager"
        );
        assert!(
            reports.values().all(|n| *n <= FANOUT.max(DEPTS)),
            "spans of control stay small"
        );
        assert!(nested > 5, "some groups contain groups");
        let share = disabled as f64 / users as f64;
        assert!(
            (0.02..0.04).contains(&share),
            "{share} of the accounts are disabled"
        );
        assert!(guests > 0 && guests < users / 50, "{guests} guests");
    }
}
