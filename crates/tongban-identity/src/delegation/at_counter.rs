//! Authorities set up at the counter, with both people present and their ID cards
//! checked by a clerk: a relative's (in force at once: both agreed in front of the
//! clerk) or a guardian's for a minor (监护), on a stated legal basis and ending at the
//! child's eighteenth birthday.

use tongban_core::time::Timestamp;
use tongban_store::Conn;

use super::{
    Delegation, DelegationError, MAX_DAYS, find, invalid, named_person, parse_matters,
    record_at_counter,
};
use crate::counter::Clerk;

/// A person at the counter, by ID number and name as on their card.
#[derive(Clone, Copy, Debug)]
pub struct Present<'a> {
    /// Resident ID number.
    pub id_number: &'a str,
    /// Name.
    pub name: &'a str,
}

/// What the clerk sets up.
#[derive(Clone, Debug)]
pub struct CounterAuthority<'a> {
    /// The person acted for.
    pub principal: Present<'a>,
    /// The relative or guardian.
    pub delegate: Present<'a>,
    /// Matter names.
    pub matters: &'a [String],
    /// A relative's authority: days; ignored for guardianship.
    pub days: i64,
    /// Guardianship of a minor: the document seen (户口簿, 出生医学证明, a court's
    /// decision…). None for a relative.
    pub legal_basis: Option<&'a str>,
}

/// The eighteenth birthday of the person born on `birth` (29 February: 1 March), as
/// midnight Beijing time.
fn eighteenth_birthday(birth: time::Date) -> Option<Timestamp> {
    let year = birth.year() + 18;
    let date = time::Date::from_calendar_date(year, birth.month(), birth.day())
        .or_else(|_| time::Date::from_calendar_date(year, time::Month::March, 1))
        .ok()?;
    let china = time::UtcOffset::from_hms(8, 0, 0).ok()?;
    let at = date.midnight().assume_offset(china);
    Some(Timestamp::from_unix_millis(
        i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()?,
    ))
}

/// Sets up an authority at the counter, in force at once, recorded with the clerk and
/// the hall. Guardianship needs a minor and a legal basis and ends at eighteen.
pub async fn set_up(
    conn: &mut Conn,
    clerk: &Clerk,
    authority: &CounterAuthority<'_>,
    now: Timestamp,
) -> Result<Delegation, DelegationError> {
    let (p, d) = (authority.principal, authority.delegate);
    let (principal, number) = named_person(conn, p.id_number, p.name, "principal_id").await?;
    let (delegate, _) = named_person(conn, d.id_number, d.name, "delegate_id").await?;
    if principal == delegate {
        return Err(invalid("delegate_id", "two different people"));
    }
    // A clerk never sets up an authority for themself: that needs a colleague.
    if delegate == clerk.staff() || principal == clerk.staff() {
        return Err(invalid("delegate_id", "not for the clerk themself"));
    }
    if crate::counter::protected(conn, principal).await? {
        return Err(DelegationError::Staff);
    }
    let matters = parse_matters(authority.matters)?;
    let (kind, valid_until, basis) = match authority.legal_basis.map(str::trim) {
        Some(basis) if !basis.is_empty() => {
            let until = number
                .birth_date()
                .and_then(eighteenth_birthday)
                .ok_or(invalid("principal_id", "no birth date"))?;
            if until <= now {
                return Err(invalid("principal_id", "guardianship is for a minor"));
            }
            if basis.chars().count() > 200 {
                return Err(invalid("legal_basis", "at most 200 characters"));
            }
            ("guardian", until, Some(basis))
        }
        Some(_) => return Err(invalid("legal_basis", "name the document seen")),
        None => {
            if !(1..=MAX_DAYS).contains(&authority.days) {
                return Err(invalid("days", "between 1 day and 3 years"));
            }
            let until =
                Timestamp::from_unix_millis(now.unix_millis() + authority.days * 86_400_000);
            ("relative", until, None)
        }
    };
    // What ran out between the two is closed as such; an open authority gives way to
    // the one set up in person.
    super::end_expired_between(conn, (principal, delegate), now).await?;
    super::end_between(conn, (principal, delegate), None, clerk.staff(), now).await?;
    let id = tongban_core::id::Uuid::now_v7().to_string();
    let names: Vec<&str> = matters.iter().map(|m| m.name()).collect();
    sqlx::query(
        "INSERT INTO delegations (id, principal_id, delegate_id, kind, matters, legal_basis, status, \
         valid_until, created_at, created_by, accepted_at, hall) \
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $8, $10)",
    )
    .bind(&id)
    .bind(principal.to_string())
    .bind(delegate.to_string())
    .bind(kind)
    .bind(names.join(" "))
    .bind(basis)
    .bind(valid_until.unix_millis())
    .bind(now.unix_millis())
    .bind(clerk.staff().to_string())
    .bind(clerk.hall())
    .execute(&mut *conn)
    .await?;
    let details = serde_json::json!({
        "kind": kind, "hall": clerk.hall(), "matters": names,
        "principal": principal.to_string(), "delegate": delegate.to_string(),
    });
    record_at_counter(conn, clerk, "delegation.set-up-at-counter", &id, details).await?;
    find(conn, &id).await?.ok_or(DelegationError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guardianship_ends_at_the_eighteenth_birthday_in_beijing() {
        let birth = time::macros::date!(2015 - 06 - 01);
        let end = eighteenth_birthday(birth).expect("a date");
        // 2033-06-01 00:00 +08:00 is 2033-05-31 16:00 UTC.
        assert_eq!(end.unix_millis(), 2_001_168_000_000);
        let leap = eighteenth_birthday(time::macros::date!(2016 - 02 - 29)).expect("a date");
        assert_eq!(leap.unix_millis(), 2_024_755_200_000);
    }
}
