//! String helpers of the function library: diacritics, proper case, culture-aware case
//! mapping, Base64 of UTF-16LE, UTF-8 hex, words.

use std::borrow::Cow;

/// Latin letters that no canonical decomposition takes apart: ligatures, stroked letters and
/// Microsoft's reference's `ø` → `oe` (its NormalizeDiacritics table puts `ø`, `ø̄` and `œ̄`
/// with `oe`, and `Ø` with `OE`).
fn plain_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'æ' => "ae",
        'Æ' => "AE",
        'ø' | 'œ' => "oe",
        'Ø' | 'Œ' => "OE",
        'ß' => "ss",
        'ẞ' => "SS",
        'ł' | 'ŀ' => "l",
        'Ł' | 'Ŀ' => "L",
        'ı' => "i",
        'đ' | 'ð' => "d",
        'Đ' | 'Ð' => "D",
        'ħ' => "h",
        'Ħ' => "H",
        'ŧ' => "t",
        'Ŧ' => "T",
        'þ' => "th",
        'Þ' => "TH",
        'ĳ' => "ij",
        'Ĳ' => "IJ",
        _ => return None,
    })
}

/// Combining diacritical marks (U+0300–U+036F), dropped from decomposed input.
fn is_combining_mark(c: char) -> bool {
    ('\u{300}'..='\u{36f}').contains(&c)
}

/// The Latin blocks whose letters with diacritics are taken apart (Latin-1 Supplement,
/// Extended-A and -B, Extended Additional); other scripts keep their marks (`が` stays).
fn is_latin_with_marks(c: char) -> bool {
    matches!(c, '\u{c0}'..='\u{24f}' | '\u{1e00}'..='\u{1eff}')
}

/// Letters with diacritics to their plain letters: `Zoë` → `Zoe`, `Łukasz` → `Lukasz`,
/// `Straße` → `Strasse`, `Ærø` → `AEroe`; precomposed (`ǟ`) or decomposed (`a` + marks).
pub fn normalize_diacritics(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut push_plain = |c: char| match plain_letter(c) {
        Some(replacement) => out.push_str(replacement),
        None if is_combining_mark(c) => {}
        None => out.push(c),
    };
    for c in text.chars() {
        if is_latin_with_marks(c) {
            unicode_normalization::char::decompose_canonical(c, &mut push_plain);
        } else {
            push_plain(c);
        }
    }
    Cow::Owned(out)
}

fn turkic(culture: Option<&str>) -> bool {
    culture.is_some_and(|c| {
        let lang = c.split(['-', '_']).next().unwrap_or("");
        lang.eq_ignore_ascii_case("tr") || lang.eq_ignore_ascii_case("az")
    })
}

/// Lower case; Turkish and Azeri cultures map `I` to dotless `ı` and `İ` to `i`.
pub fn to_lower<'a>(text: &'a str, culture: Option<&str>) -> Cow<'a, str> {
    map_case(
        text,
        culture,
        char::is_uppercase,
        &[('I', 'ı'), ('İ', 'i')],
        str::to_lowercase,
    )
}

/// Upper case; Turkish and Azeri cultures map `i` to dotted `İ` and `ı` to `I`.
pub fn to_upper<'a>(text: &'a str, culture: Option<&str>) -> Cow<'a, str> {
    map_case(
        text,
        culture,
        char::is_lowercase,
        &[('i', 'İ'), ('ı', 'I')],
        str::to_uppercase,
    )
}

/// Case mapping that borrows when nothing changes, with the Turkic dotted/dotless `i` rules.
fn map_case<'a>(
    text: &'a str,
    culture: Option<&str>,
    changes: fn(char) -> bool,
    turkic_pairs: &[(char, char)],
    convert: fn(&str) -> String,
) -> Cow<'a, str> {
    if !text.chars().any(changes) {
        return Cow::Borrowed(text);
    }
    if turkic(culture) {
        let mapped: String = text
            .chars()
            .map(|c| {
                turkic_pairs
                    .iter()
                    .find(|(from, _)| *from == c)
                    .map_or(c, |(_, to)| *to)
            })
            .collect();
        return Cow::Owned(convert(&mapped));
    }
    Cow::Owned(convert(text))
}

/// Proper case. Without separators, a word starts after any character that is not a letter
/// (as .NET's `ToTitleCase`, except that all-capital words are lowered too, which is what
/// Entra's documented examples show: `PCase("NEDA JONES")` is `Neda Jones`). With separators,
/// only those characters start a new word.
pub fn proper_case(text: &str, separators: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if at_word_start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        at_word_start = match separators {
            Some(separators) => separators.contains(c),
            None => !c.is_alphabetic() && c != '\'',
        };
    }
    out
}

/// Base64 of the UTF-16LE bytes, as .NET's `Convert.ToBase64String(Encoding.Unicode.GetBytes(s))`.
pub fn to_base64_utf16(text: &str) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes Base64 to text, as UTF-16LE (`UTF16`, `Unicode`, the default) or UTF-8.
pub fn from_base64(text: &str, encoding: Option<&str>) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    let utf8 =
        encoding.is_some_and(|e| e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8"));
    if utf8 {
        return String::from_utf8(bytes).ok();
    }
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// Upper-case hex of the UTF-8 bytes.
pub fn to_utf8_hex(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len() * 2);
    for byte in text.bytes() {
        let _ = write!(out, "{byte:02X}");
    }
    out
}

/// The 1-based `number`-th word, words being runs of characters not in `delimiters`.
pub fn word<'a>(text: &'a str, number: i64, delimiters: &str) -> &'a str {
    let Some(Ok(index)) = number.checked_sub(1).map(usize::try_from) else {
        return "";
    };
    text.split(|c| delimiters.contains(c))
        .filter(|w| !w.is_empty())
        .nth(index)
        .unwrap_or("")
}

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// The candidate nearest to `name` (case-insensitively), if it is near enough to be a typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(&lower, &candidate.to_lowercase()), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}
