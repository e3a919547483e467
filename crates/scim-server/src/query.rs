//! Answering list and search requests: filters that the store's indexes can answer are pushed
//! down as SQL; anything else is evaluated here over a keyset scan, in bounded memory.

use provisio_scim::error::ScimError;
use provisio_scim::filter::{CompValue, CompareOp, Filter};
use provisio_scim::list::{sort_resources, ListQuery};
use provisio_scim::path::AttrPath;
use provisio_scim::schema::ResourceType;
use serde_json::{Map, Value};

use crate::http::{ApiResult, Ctx};
use crate::store::{IndexedAttr, IndexedFilter, ReadOptions, ResourceKind, StoredResource};
use crate::AppState;

/// How many resources a scan reads per store call.
const SCAN_CHUNK: u64 = 500;

/// A key no attribute can have, used to remember positions while sorting.
const POSITION_KEY: &str = "\u{0}position";

/// The store-side part of a filter: `exact` when it selects exactly the matching resources,
/// otherwise a superset that the evaluator narrows down.
#[derive(Debug, Clone, PartialEq)]
pub struct Pushdown {
    pub filter: IndexedFilter,
    pub exact: bool,
}

fn indexed_attr(rt: &ResourceType, path: &AttrPath) -> Option<IndexedAttr> {
    if let Some(urn) = &path.urn {
        if !urn.eq_ignore_ascii_case(&rt.schema.id) {
            return None;
        }
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
    let is_user = rt.name == "User";
    match (name.as_str(), sub.as_deref()) {
        ("id", None) => Some(IndexedAttr::Id),
        ("externalid", None) => Some(IndexedAttr::ExternalId),
        ("username", None) if is_user => Some(IndexedAttr::UserName),
        ("displayname", None) => Some(IndexedAttr::DisplayName),
        ("emails", None | Some("value")) if is_user => Some(IndexedAttr::EmailValue),
        _ => None,
    }
}

/// Splits a filter into what the store's indexes answer.
pub fn pushdown(rt: &ResourceType, f: &Filter) -> Option<Pushdown> {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(s),
        } => indexed_attr(rt, path).map(|a| Pushdown {
            filter: IndexedFilter::Eq(a, s.clone()),
            exact: true,
        }),
        Filter::ValuePath { attr, filter } => {
            // emails[type eq "work" and value eq "x"]: the value narrows it down.
            let emails = AttrPath {
                urn: attr.urn.clone(),
                name: attr.name.clone(),
                sub: Some("value".into()),
            };
            indexed_attr(rt, &emails)?;
            let value = conjunct_value_eq(filter)?;
            Some(Pushdown {
                filter: IndexedFilter::Eq(IndexedAttr::EmailValue, value),
                exact: false,
            })
        }
        Filter::And(a, b) => match (pushdown(rt, a), pushdown(rt, b)) {
            (Some(x), Some(y)) => Some(Pushdown {
                exact: x.exact && y.exact,
                filter: IndexedFilter::And(vec![x.filter, y.filter]),
            }),
            (Some(x), None) | (None, Some(x)) => Some(Pushdown {
                filter: x.filter,
                exact: false,
            }),
            (None, None) => None,
        },
        Filter::Or(a, b) => {
            let (x, y) = (pushdown(rt, a)?, pushdown(rt, b)?);
            Some(Pushdown {
                exact: x.exact && y.exact,
                filter: IndexedFilter::Or(vec![x.filter, y.filter]),
            })
        }
        _ => None,
    }
}

fn conjunct_value_eq(f: &Filter) -> Option<String> {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(s),
        } if path.name.eq_ignore_ascii_case("value") && path.sub.is_none() => Some(s.clone()),
        Filter::And(a, b) => conjunct_value_eq(a).or_else(|| conjunct_value_eq(b)),
        _ => None,
    }
}

/// One page of a list: the total number of matches and the resources on the page.
pub struct Page {
    pub total: u64,
    pub resources: Vec<StoredResource>,
}

/// Runs a list query for one resource type.
pub async fn run(
    state: &AppState,
    ctx: &Ctx,
    kind: ResourceKind,
    q: &ListQuery,
) -> ApiResult<Page> {
    let rt = state.resource_type(kind);
    let count = q
        .count
        .unwrap_or(state.config.default_count)
        .min(state.config.max_results);
    let offset = q.start_index.saturating_sub(1);
    let opts = ReadOptions {
        with_members: kind == ResourceKind::Group && !q.projection.omits(rt, "members"),
        with_groups: kind == ResourceKind::User && !q.projection.omits(rt, "groups"),
    };
    let pushed = q.filter.as_ref().map(|f| pushdown(rt, f));
    let exact = match &pushed {
        None => true,             // no filter
        Some(Some(p)) => p.exact, // indexed
        Some(None) => false,      // needs a scan
    };
    let index_filter = pushed.as_ref().and_then(|p| p.as_ref()).map(|p| &p.filter);
    let unsorted = q.sort_by.is_none();
    if exact && unsorted {
        let (total, resources) = state
            .store
            .list(&ctx.tenant, kind, index_filter, offset, count, opts)
            .await?;
        return Ok(Page { total, resources });
    }
    // Evaluate in memory over a keyset scan: keep only the page unless we must sort.
    let mut total = 0u64;
    let mut page = Vec::new();
    let mut all: Vec<StoredResource> = Vec::new();
    let mut after = 0i64;
    loop {
        let chunk = state
            .store
            .scan(&ctx.tenant, kind, index_filter, after, SCAN_CHUNK, opts)
            .await?;
        let Some(last) = chunk.last() else { break };
        after = last.seq;
        let done = (chunk.len() as u64) < SCAN_CHUNK;
        for r in chunk {
            // An exact push-down already selected precisely the matches.
            let hit = match &q.filter {
                Some(f) if !exact => f.matches(&with_common(&r), rt),
                _ => true,
            };
            if !hit {
                continue;
            }
            total += 1;
            if !unsorted {
                if all.len() >= state.config.max_in_memory {
                    return Err(ScimError::too_many(format!(
                        "more than {} resources match; narrow the filter to sort them",
                        state.config.max_in_memory
                    ))
                    .into());
                }
                all.push(r);
            } else if total > offset && (page.len() as u64) < count {
                page.push(r);
            }
        }
        if done {
            break;
        }
    }
    if let Some(sort_by) = &q.sort_by {
        // Sort copies that carry their position, then pick the page's resources by it.
        let mut maps: Vec<Map<String, Value>> = all
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut m = with_common(r).as_object().cloned().unwrap_or_default();
                m.insert(POSITION_KEY.into(), Value::from(i as u64));
                m
            })
            .collect();
        sort_resources(rt, &mut maps, sort_by, q.sort_order);
        let mut slots: Vec<Option<StoredResource>> = all.into_iter().map(Some).collect();
        page = maps
            .iter()
            .skip(offset as usize)
            .take(count as usize)
            .filter_map(|m| m.get(POSITION_KEY).and_then(Value::as_u64))
            .filter_map(|i| slots.get_mut(i as usize).and_then(Option::take))
            .collect();
    }
    Ok(Page {
        total,
        resources: page,
    })
}

/// The stored data plus `id` and `meta`, so that filters and sorting can reach them.
fn with_common(r: &StoredResource) -> Value {
    let mut m = r.data.as_object().cloned().unwrap_or_default();
    m.insert("id".into(), Value::String(r.id.clone()));
    m.insert(
        "meta".into(),
        serde_json::json!({
            "created": r.created,
            "lastModified": r.last_modified,
            "version": crate::http::etag(r.version),
            "resourceType": match r.kind { ResourceKind::User => "User", ResourceKind::Group => "Group" },
        }),
    );
    Value::Object(m)
}
