//! What a department head looks at on the console's overview, day by day over the last
//! [`DAYS`] days (China Standard Time): certificates issued by type, seal uses by seal,
//! verifications of its certificates and sealed documents, and for the platform the
//! refused logins. It lives in this crate because it reads certificates, seals and the
//! store's tallies, and this crate sits above the other two. Who reads what is the
//! audit trail's [`Reader`]: a department administrator their departments, a platform
//! administrator everything.

use std::collections::HashMap;

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_identity::audit_trail::Reader;
use tongban_identity::subjects::DepartmentId;
use tongban_store::tallies::{self, Scope, Tally};
use tongban_store::{Conn, Store, StoreError};

use crate::error::EcertError;

/// How many days a chart shows, today included.
pub const DAYS: i64 = 30;
/// How many series a chart shows: the largest, then the rest as one.
const MOST_SERIES: usize = 5;

/// What a series counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeriesName {
    /// Certificates of a type (its Chinese and English names).
    Type {
        /// 中文名.
        zh: String,
        /// English name.
        en: String,
    },
    /// Uses of a seal (its name).
    Seal(String),
    /// Everything beyond the largest series.
    Others,
    /// Certificates verified.
    CertificatesVerified,
    /// Sealed documents verified.
    DocumentsVerified,
    /// Logins refused.
    LoginsFailed,
}

/// One series: a count for each day, oldest first.
#[derive(Clone, Debug)]
pub struct Series {
    /// What it counts.
    pub name: SeriesName,
    /// A count per day.
    pub counts: Vec<i64>,
}

/// A chart's data: series over the same days.
#[derive(Clone, Debug)]
pub struct Daily {
    /// The first day, as days since 1970-01-01 (China Standard Time).
    pub first_day: i64,
    /// The series, largest first ("others" last).
    pub series: Vec<Series>,
}

impl Daily {
    /// Each day's count over all series.
    pub fn day_totals(&self) -> Vec<i64> {
        (0..DAYS as usize)
            .map(|i| self.series.iter().filter_map(|s| s.counts.get(i)).sum())
            .collect()
    }

    /// The count over all days and series.
    pub fn total(&self) -> i64 {
        self.day_totals().iter().sum()
    }
}

/// The overview of one department, or of everything.
#[derive(Clone, Debug)]
pub struct Overview {
    /// The department shown; `None`: every department.
    pub department: Option<DepartmentId>,
    /// Certificates issued, by type.
    pub issued: Daily,
    /// Seal uses, by seal.
    pub seal_uses: Daily,
    /// Certificates and sealed documents verified.
    pub verifications: Daily,
    /// Logins refused (only for a reader of everything, over everything).
    pub failed_logins: Option<Daily>,
}

/// The overview of `department` (`None`: every department) as `reader` may see it, for
/// the [`DAYS`] days up to `now`. Counts of verifications still in this instance's
/// memory are written first, so that what just happened shows.
pub async fn overview(
    store: &Store,
    reader: &Reader,
    department: Option<DepartmentId>,
    now: Timestamp,
) -> Result<Overview, EcertError> {
    match (reader.departments(), department) {
        (None, _) => {}
        (Some(mine), Some(wanted)) if mine.contains(&wanted) => {}
        _ => {
            return Err(EcertError::Denied(
                "the overview of a department is for its administrators".into(),
            ));
        }
    }
    store.flush_tallies().await?;
    let last = tallies::china_day(now);
    let first = last - DAYS + 1;
    let since = tallies::day_start(first).unix_millis();
    let mut conn = store.conn().await?;
    let dept = department.map(|d| d.to_string());
    let issued = daily(first, issued_rows(&mut conn, dept.as_deref(), since).await?);
    let seal_uses = daily(first, use_rows(&mut conn, dept.as_deref(), since).await?);
    let scope = dept.as_deref().map_or(Scope::Everything, Scope::Department);
    let mut verifications = Vec::new();
    for (tally, name) in [
        (Tally::CertificateVerified, SeriesName::CertificatesVerified),
        (Tally::SealVerified, SeriesName::DocumentsVerified),
    ] {
        let counts = tallies::per_day(&mut conn, tally, scope, (first, last)).await?;
        verifications.push(Series { name, counts });
    }
    let failed_logins = if reader.departments().is_none() && department.is_none() {
        let counts = tallies::per_day(
            &mut conn,
            Tally::LoginFailed,
            Scope::Platform,
            (first, last),
        )
        .await?;
        Some(Daily {
            first_day: first,
            series: vec![Series {
                name: SeriesName::LoginsFailed,
                counts,
            }],
        })
    } else {
        None
    };
    Ok(Overview {
        department,
        issued,
        seal_uses,
        verifications: Daily {
            first_day: first,
            series: verifications,
        },
        failed_logins,
    })
}

/// One group's count on one day: its key, its name, the day, the count.
type Counted = (String, SeriesName, i64, i64);

/// Certificates issued since `since`, by type and China day.
async fn issued_rows(
    conn: &mut Conn,
    department: Option<&str>,
    since: i64,
) -> Result<Vec<Counted>, StoreError> {
    let filter = if department.is_some() {
        "e.department_id = $2 AND"
    } else {
        ""
    };
    let sql = format!(
        "SELECT e.type_id AS k, t.name_zh, t.name_en, \
         (e.issued_at + 28800000) / 86400000 AS d, COUNT(*) AS n \
         FROM ecerts e JOIN ecert_types t ON t.id = e.type_id \
         WHERE {filter} e.issued_at >= $1 \
         GROUP BY e.type_id, t.name_zh, t.name_en, (e.issued_at + 28800000) / 86400000"
    );
    counted(conn, sql, (department, since), |r| {
        Ok(SeriesName::Type {
            zh: r.try_get("name_zh")?,
            en: r.try_get("name_en")?,
        })
    })
    .await
}

/// Seal uses since `since`, by seal and China day.
async fn use_rows(
    conn: &mut Conn,
    department: Option<&str>,
    since: i64,
) -> Result<Vec<Counted>, StoreError> {
    let filter = if department.is_some() {
        "s.department_id = $2 AND"
    } else {
        ""
    };
    let sql = format!(
        "SELECT u.seal_id AS k, s.name, (u.created_at + 28800000) / 86400000 AS d, \
         COUNT(*) AS n FROM seal_usages u JOIN seals s ON s.id = u.seal_id \
         WHERE {filter} u.created_at >= $1 \
         GROUP BY u.seal_id, s.name, (u.created_at + 28800000) / 86400000"
    );
    counted(conn, sql, (department, since), |r| {
        Ok(SeriesName::Seal(r.try_get("name")?))
    })
    .await
}

/// Runs a count query (`$1` the time since, `$2` the department when there is one)
/// whose rows hold `k`, `d` and `n`, naming each group with `name`.
async fn counted(
    conn: &mut Conn,
    sql: String,
    (department, since): (Option<&str>, i64),
    name: impl Fn(&sqlx::any::AnyRow) -> Result<SeriesName, sqlx::Error>,
) -> Result<Vec<Counted>, StoreError> {
    let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since);
    let query = match department {
        Some(department) => query.bind(department),
        None => query,
    };
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("k")?, name(r)?, r.try_get("d")?, r.try_get("n")?)))
        .collect()
}

/// Rows gathered into series from `first_day`, largest first; beyond
/// [`MOST_SERIES`], the smallest are added up as "others".
fn daily(first_day: i64, rows: Vec<Counted>) -> Daily {
    let mut by_key: HashMap<String, Series> = HashMap::new();
    for (key, name, day, count) in rows {
        let series = by_key.entry(key).or_insert_with(|| Series {
            name,
            counts: vec![0; DAYS as usize],
        });
        if let Some(slot) = usize::try_from(day - first_day)
            .ok()
            .and_then(|i| series.counts.get_mut(i))
        {
            *slot += count;
        }
    }
    let mut series: Vec<Series> = by_key.into_values().collect();
    let total = |s: &Series| s.counts.iter().sum::<i64>();
    series.sort_by(|a, b| {
        total(b)
            .cmp(&total(a))
            .then_with(|| a.name_key().cmp(&b.name_key()))
    });
    if series.len() > MOST_SERIES {
        let rest = series.split_off(MOST_SERIES - 1);
        let mut others = vec![0; DAYS as usize];
        for s in rest {
            for (slot, count) in others.iter_mut().zip(s.counts) {
                *slot += count;
            }
        }
        series.push(Series {
            name: SeriesName::Others,
            counts: others,
        });
    }
    Daily { first_day, series }
}

impl Series {
    /// A stable order among series of the same size.
    fn name_key(&self) -> String {
        match &self.name {
            SeriesName::Type { zh, .. } => zh.clone(),
            SeriesName::Seal(name) => name.clone(),
            other => format!("{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, day: i64, count: i64) -> Counted {
        (key.into(), SeriesName::Seal(key.into()), day, count)
    }

    #[test]
    fn series_are_largest_first_and_the_rest_is_others() {
        let first = 100;
        let rows = vec![
            row("a", 100, 1),
            row("b", 101, 5),
            row("c", 129, 3),
            row("d", 110, 2),
            row("e", 110, 2),
            row("f", 111, 1),
            row("g", 99, 50),  // before the first day: not shown
            row("a", 130, 50), // after the last: not shown
        ];
        let chart = daily(first, rows);
        let names: Vec<_> = chart.series.iter().map(|s| s.name.clone()).collect();
        assert_eq!(
            names,
            [
                SeriesName::Seal("b".into()),
                SeriesName::Seal("c".into()),
                SeriesName::Seal("d".into()),
                SeriesName::Seal("e".into()),
                SeriesName::Others,
            ]
        );
        // a (1 on day 0) and f (1 on day 11) are "others"; g is dropped.
        assert_eq!(chart.series[4].counts[0], 1);
        assert_eq!(chart.series[4].counts[11], 1);
        assert_eq!(chart.total(), 1 + 5 + 3 + 2 + 2 + 1);
        assert_eq!(chart.day_totals()[29], 3);
        assert!(chart.series.iter().all(|s| s.counts.len() == DAYS as usize));
    }
}
