//! What an authority is: its matters, its status, the record, and why an act on one is
//! refused.

use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_store::StoreError;

use crate::subjects::SubjectId;

/// What a delegate may do for the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Matter {
    /// Sign in to portals for the person.
    SignIn,
    /// See and share the person's e-certificates.
    Certificates,
    /// Start signing requests to the person, which the person signs (or declines)
    /// themself: the relative prepares, never signs.
    SigningRequests,
}

impl Matter {
    /// Every matter, in the order pages list them.
    pub const ALL: [Matter; 3] = [
        Matter::SignIn,
        Matter::Certificates,
        Matter::SigningRequests,
    ];

    /// The name in forms and the database.
    pub fn name(self) -> &'static str {
        match self {
            Self::SignIn => "sign-in",
            Self::Certificates => "certificates",
            Self::SigningRequests => "signing-requests",
        }
    }

    /// The matter named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The OAuth scopes a delegated login may carry for this matter. `service` (remote
    /// signing) is in none of them: `sign:request` asks the person to sign.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Self::SignIn => &["openid", "profile", "email", "phone", "tongban:identity"],
            Self::Certificates => &["ecert:wallet"],
            Self::SigningRequests => &["sign:request"],
        }
    }
}

/// Where an authority stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Set up by the person; the relative has not accepted yet.
    Offered,
    /// In force until `valid_until`.
    Active,
    /// The relative declined.
    Declined,
    /// Ended by either of them (or by staff).
    Ended,
}

impl Status {
    pub(crate) fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "offered" => Ok(Self::Offered),
            "active" => Ok(Self::Active),
            "declined" => Ok(Self::Declined),
            "ended" => Ok(Self::Ended),
            other => Err(StoreError::Corrupt(format!("delegation status {other}"))),
        }
    }

    /// The name in the database and the catalogues.
    pub fn name(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Active => "active",
            Self::Declined => "declined",
            Self::Ended => "ended",
        }
    }
}

/// An authority of one person for another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegation {
    /// Id.
    pub id: String,
    /// The person acted for.
    pub principal: SubjectId,
    /// Their name.
    pub principal_name: String,
    /// Their identity's assurance level (1 self-asserted, 2 registry-matched).
    pub principal_assurance: u8,
    /// The relative (or guardian) who acts.
    pub delegate: SubjectId,
    /// Their name.
    pub delegate_name: String,
    /// What the delegate may do.
    pub matters: Vec<Matter>,
    /// `relative`, `guardian` or `counter` (an assisted session, [`assisted`]).
    pub kind: String,
    /// The service hall it was set up or asked for at, if at a counter.
    pub hall: Option<String>,
    /// Where it stands (an active one past `valid_until` is expired, see [`Self::live`]).
    pub status: Status,
    /// Ends at.
    pub valid_until: Timestamp,
    /// Set up at.
    pub created_at: Timestamp,
    /// Ended at.
    pub ended_at: Option<Timestamp>,
    /// Ended by whom (a subject id), or `expiry`.
    pub ended_by: Option<String>,
}

impl Delegation {
    /// Whether it is in force at `now`.
    pub fn live(&self, now: Timestamp) -> bool {
        self.status == Status::Active && now < self.valid_until
    }

    /// Where it stands at `now`, for pages: its status, or `expired` once it ran out
    /// (whether or not the expiry was recorded yet).
    pub fn state(&self, now: Timestamp) -> &'static str {
        let ran_out = match self.status {
            Status::Offered | Status::Active => now >= self.valid_until,
            Status::Ended => self.ended_by.as_deref() == Some("expiry"),
            Status::Declined => false,
        };
        if ran_out {
            "expired"
        } else {
            self.status.name()
        }
    }

    /// Whether it covers `matter`.
    pub fn covers(&self, matter: Matter) -> bool {
        self.matters.contains(&matter)
    }

    /// Of `requested`, the scopes a delegated login may carry.
    pub fn allowed_scopes(&self, requested: &[String]) -> Vec<String> {
        requested
            .iter()
            .filter(|s| {
                self.matters
                    .iter()
                    .any(|m| m.scopes().contains(&s.as_str()))
            })
            .cloned()
            .collect()
    }
}

/// Why an authority could not be set up or changed.
#[derive(Debug, thiserror::Error)]
pub enum DelegationError {
    /// A field of the form is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The form field.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// No registered person has this name and ID number (or it is the person).
    #[error("no other registered person has this name and ID number")]
    UnknownRelative,
    /// The login is below [`super::OFFER_LEVEL`], or it acts for a company.
    #[error("setting up an authority needs a level-2 login of the person themself")]
    Level,
    /// Department staff sign in themselves: nobody acts for them.
    #[error("department staff cannot authorise someone to act for them")]
    Staff,
    /// The same two people already have an authority offered or in force.
    #[error("an authority between these two people is already offered or in force")]
    Exists,
    /// The code typed to confirm an assisted session is not the one the clerk read;
    /// after too many the request is `withdrawn`.
    #[error("the code is not the one the clerk read out")]
    WrongCode {
        /// Whether the request is withdrawn now.
        withdrawn: bool,
    },
    /// No such authority of this person in a state that allows the change.
    #[error("no such authority")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for DelegationError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

impl From<crate::counter::CounterError> for DelegationError {
    /// A clerk who is not one (no counter role, or below level 3) asks too much of
    /// their login, like a person below the level to set up an authority.
    fn from(error: crate::counter::CounterError) -> Self {
        use crate::counter::CounterError;
        match error {
            CounterError::Store(store) => Self::Store(store),
            CounterError::Invalid { field, reason } => Self::Invalid { field, reason },
            _ => Self::Level,
        }
    }
}

pub(crate) fn invalid(field: &'static str, reason: &'static str) -> DelegationError {
    DelegationError::Invalid { field, reason }
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

pub(crate) const SELECT: &str = "SELECT d.id, d.principal_id, p.name AS principal_name, p.assurance AS principal_assurance, d.delegate_id, \
     r.name AS delegate_name, d.matters, d.kind, d.hall, d.status, d.valid_until, d.created_at, d.ended_at, d.ended_by \
     FROM delegations d JOIN subjects p ON p.id = d.principal_id JOIN subjects r ON r.id = d.delegate_id";

pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> Result<Delegation, StoreError> {
    let id = |column: &str| -> Result<SubjectId, StoreError> {
        let text: String = r.try_get(column)?;
        text.parse().map_err(|_| corrupt("subject id"))
    };
    let matters: String = r.try_get("matters")?;
    let status: String = r.try_get("status")?;
    Ok(Delegation {
        id: r.try_get("id")?,
        principal: id("principal_id")?,
        principal_name: r.try_get("principal_name")?,
        principal_assurance: u8::try_from(r.try_get::<i64, _>("principal_assurance")?).unwrap_or(1),
        delegate: id("delegate_id")?,
        delegate_name: r.try_get("delegate_name")?,
        matters: matters
            .split_whitespace()
            .filter_map(Matter::parse)
            .collect(),
        kind: r.try_get("kind")?,
        hall: r.try_get("hall")?,
        status: Status::parse(&status)?,
        valid_until: Timestamp::from_unix_millis(r.try_get("valid_until")?),
        created_at: Timestamp::from_unix_millis(r.try_get("created_at")?),
        ended_at: r
            .try_get::<Option<i64>, _>("ended_at")?
            .map(Timestamp::from_unix_millis),
        ended_by: r.try_get("ended_by")?,
    })
}
