//! Placeholders for multi-row statements (a batch writes hundreds of rows in each).
//! SQLite finds a numbered placeholder (`$n`) by name at every bind, scanning all of the
//! statement's names, so a statement of n of them costs n² there (a fifth of batch
//! issuance went to it); anonymous `?` placeholders bind in order without the search.
//! PostgreSQL knows only `$n`. Either way, values are bound in the order the
//! placeholders were taken, each once.

use crate::Conn;

/// Placeholders in bind order, in the dialect of one connection.
pub struct Placeholders {
    numbered: bool,
    taken: usize,
}

impl Placeholders {
    /// Placeholders for statements on `conn`.
    pub fn on(conn: &Conn) -> Self {
        Self {
            numbered: conn.backend_name() != "SQLite",
            taken: 0,
        }
    }

    /// The next placeholder.
    pub fn take(&mut self) -> String {
        self.taken += 1;
        if self.numbered {
            format!("${}", self.taken)
        } else {
            "?".to_owned()
        }
    }

    /// `n` placeholders, comma-separated.
    pub fn list(&mut self, n: usize) -> String {
        (0..n).map(|_| self.take()).collect::<Vec<_>>().join(", ")
    }

    /// A row of `n` placeholders in parentheses.
    pub fn row(&mut self, n: usize) -> String {
        format!("({})", self.list(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_in_bind_order_or_stay_anonymous() {
        let mut numbered = Placeholders {
            numbered: true,
            taken: 0,
        };
        assert_eq!(numbered.row(2), "($1, $2)");
        assert_eq!(numbered.take(), "$3");
        let mut anonymous = Placeholders {
            numbered: false,
            taken: 0,
        };
        assert_eq!(anonymous.row(3), "(?, ?, ?)");
    }
}
