//! [`AppState`] as the account database the grants use: its lock, its clock, its password
//! check.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::AppState;
use crate::domain::db::Db;
use crate::domain::grant::Accounts;
use crate::domain::users::User;

impl Accounts for AppState {
    fn read<R>(&self, f: impl FnOnce(&Db) -> R) -> R {
        self.db_read(f)
    }

    fn change<R>(&self, f: impl FnOnce(&mut Db, DateTime<Utc>) -> R) -> R {
        self.db(|db| f(db, self.clock().now()))
    }

    fn check_password(
        &self,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Option<User>> + Send {
        AppState::check_password(self, username, password)
    }
}
