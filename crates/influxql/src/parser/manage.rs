//! Statements that read or change the catalog: `SHOW …`, `CREATE …`, `DROP …`, `ALTER
//! RETENTION POLICY`, `GRANT`/`REVOKE`, the cardinality statements.

use super::{Parser, Result};
use crate::ast::*;
use crate::lexer::TokenKind;

impl Parser<'_> {
    /// `GRANT|REVOKE READ|WRITE|ALL [PRIVILEGES] [ON db] TO|FROM user`; without `ON` only `ALL`
    /// (admin) is allowed.
    pub(super) fn grant_or_revoke(&mut self) -> Result<Statement> {
        let grant = self.eat_keyword("GRANT");
        if !grant {
            self.expect_keyword("REVOKE")?;
        }
        let privilege = if self.eat_keyword("READ") {
            Privilege::Read
        } else if self.eat_keyword("WRITE") {
            Privilege::Write
        } else if self.eat_keyword("ALL") {
            self.eat_keyword("PRIVILEGES");
            Privilege::All
        } else {
            return Err(self.unexpected(&["READ", "WRITE", "ALL [PRIVILEGES]"]));
        };
        let to = if grant { "TO" } else { "FROM" };
        let database = if self.eat_keyword("ON") {
            Some(self.ident()?)
        } else if privilege == Privilege::All {
            None
        } else {
            return Err(self.unexpected(&["ON"]));
        };
        if database.is_none() && !self.at_keyword(to) {
            return Err(self.unexpected(&["ON", to]));
        }
        self.expect_keyword(to)?;
        let user = self.ident()?;
        Ok(if grant {
            Statement::Grant {
                privilege,
                database,
                user,
            }
        } else {
            Statement::Revoke {
                privilege,
                database,
                user,
            }
        })
    }

    /// `[EXACT] CARDINALITY [ON db]` after `SHOW MEASUREMENT` / `SHOW SERIES`.
    /// `[EXACT] CARDINALITY [ON db] [FROM …] [WITH KEY …] [WHERE …] [LIMIT n] [OFFSET n]`
    /// after `SHOW MEASUREMENT|SERIES|TAG KEY|TAG VALUES|FIELD KEY` (`WITH KEY` only, and
    /// always, for `TAG VALUES`).
    pub(super) fn cardinality(&mut self, of: CardinalityOf) -> Result<Statement> {
        let exact = self.eat_keyword("EXACT");
        self.expect_keyword("CARDINALITY")?;
        let with_key = matches!(of, CardinalityOf::TagValues(_));
        let (scope, key) = self.show_statement(with_key)?;
        let of = match (of, key) {
            (CardinalityOf::TagValues(_), Some(key)) => CardinalityOf::TagValues(key),
            (CardinalityOf::TagValues(_), None) => return Err(self.unexpected(&["WITH"])),
            (of, _) => of,
        };
        Ok(Statement::ShowCardinality { of, exact, scope })
    }

    /// `ON db.rp` of the subscription statements.
    pub(super) fn on_database_policy(&mut self) -> Result<(String, String)> {
        self.expect_keyword("ON")?;
        let database = self.ident()?;
        self.expect(TokenKind::Dot, ".")?;
        Ok((database, self.ident()?))
    }

    pub(super) fn on_database(&mut self) -> Result<Option<String>> {
        if self.eat_keyword("ON") {
            Ok(Some(self.ident()?))
        } else {
            Ok(None)
        }
    }

    pub(super) fn show(&mut self) -> Result<Statement> {
        self.advance();
        if self.eat_keyword("DATABASES") {
            return Ok(Statement::ShowDatabases);
        }
        if self.eat_keyword("RETENTION") {
            self.expect_keyword("POLICIES")?;
            return Ok(Statement::ShowRetentionPolicies {
                database: self.on_database()?,
            });
        }
        if self.eat_keyword("MEASUREMENTS") {
            let database = self.on_database()?;
            let mut measurement = None;
            if self.eat_keyword("WITH") {
                self.expect_keyword("MEASUREMENT")?;
                // `=` or `=~`, then a name or a regex, either way (InfluxDB reads a source).
                measurement = Some(match self.peek().kind.clone() {
                    TokenKind::Eq | TokenKind::EqRegex => {
                        self.advance();
                        if self.at_regex() {
                            self.advance();
                            MeasurementName::Regex(self.regex_body()?)
                        } else {
                            MeasurementName::Name(self.ident()?)
                        }
                    }
                    _ => return Err(self.unexpected(&["=", "=~"])),
                });
            }
            let condition = self.where_clause()?;
            let limit = self.optional_unsigned("LIMIT")?;
            let offset = self.optional_unsigned("OFFSET")?;
            return Ok(Statement::ShowMeasurements {
                database,
                measurement,
                condition,
                limit,
                offset,
            });
        }
        if self.eat_keyword("MEASUREMENT") {
            return self.cardinality(CardinalityOf::Measurement);
        }
        if self.eat_keyword("SHARDS") {
            return Ok(Statement::ShowShards);
        }
        if self.eat_keyword("SHARD") {
            self.expect_keyword("GROUPS")?;
            return Ok(Statement::ShowShardGroups);
        }
        if self.eat_keyword("USERS") {
            return Ok(Statement::ShowUsers);
        }
        if self.eat_keyword("QUERIES") {
            return Ok(Statement::ShowQueries);
        }
        if self.eat_keyword("GRANTS") {
            self.expect_keyword("FOR")?;
            return Ok(Statement::ShowGrants {
                user: self.ident()?,
            });
        }
        if self.eat_keyword("CONTINUOUS") {
            self.expect_keyword("QUERIES")?;
            return Ok(Statement::ShowContinuousQueries);
        }
        if self.eat_keyword("TAG") {
            if self.eat_keyword("KEYS") {
                return Ok(Statement::ShowTagKeys(self.show_statement(false)?.0));
            }
            if self.eat_keyword("KEY") {
                return self.cardinality(CardinalityOf::TagKey);
            }
            self.expect_keyword("VALUES")?;
            if self.at_keyword("EXACT") || self.at_keyword("CARDINALITY") {
                // The filter is read after the scope's `FROM`.
                return self.cardinality(CardinalityOf::TagValues(TagKeyFilter::In(Vec::new())));
            }
            let (stmt, key) = self.show_statement(true)?;
            let key = key.ok_or_else(|| self.unexpected(&["WITH"]))?;
            return Ok(Statement::ShowTagValues(stmt, key));
        }
        if self.eat_keyword("FIELD") {
            if self.eat_keyword("KEY") {
                return self.cardinality(CardinalityOf::FieldKey);
            }
            self.expect_keyword("KEYS")?;
            return Ok(Statement::ShowFieldKeys(self.show_statement(false)?.0));
        }
        if self.eat_keyword("SERIES") {
            if self.at_keyword("EXACT") || self.at_keyword("CARDINALITY") {
                return self.cardinality(CardinalityOf::Series);
            }
            return Ok(Statement::ShowSeries(self.show_statement(false)?.0));
        }
        if self.eat_keyword("SUBSCRIPTIONS") {
            return Ok(Statement::ShowSubscriptions);
        }
        if self.eat_keyword("STATS") {
            return Ok(Statement::ShowStats {
                module: self.for_module()?,
            });
        }
        if self.eat_keyword("DIAGNOSTICS") {
            return Ok(Statement::ShowDiagnostics {
                module: self.for_module()?,
            });
        }
        Err(self.unexpected(&[
            "CONTINUOUS",
            "DATABASES",
            "DIAGNOSTICS",
            "FIELD",
            "GRANTS",
            "MEASUREMENT",
            "MEASUREMENTS",
            "QUERIES",
            "RETENTION",
            "SERIES",
            "SHARD",
            "SHARDS",
            "STATS",
            "SUBSCRIPTIONS",
            "TAG",
            "USERS",
        ]))
    }

    /// `FOR 'module'` of `SHOW STATS` and `SHOW DIAGNOSTICS`, when given.
    pub(super) fn for_module(&mut self) -> Result<Option<String>> {
        if self.eat_keyword("FOR") {
            Ok(Some(self.string()?))
        } else {
            Ok(None)
        }
    }

    pub(super) fn create(&mut self) -> Result<Statement> {
        self.advance();
        if self.eat_keyword("DATABASE") {
            let name = self.ident()?;
            let policy = if self.eat_keyword("WITH") {
                let options = self.policy_options(true)?;
                if options == RetentionPolicyOptions::default() {
                    return Err(self.unexpected(&["DURATION", "NAME", "REPLICATION", "SHARD"]));
                }
                Some(options)
            } else {
                None
            };
            return Ok(Statement::CreateDatabase { name, policy });
        }
        if self.eat_keyword("RETENTION") {
            self.expect_keyword("POLICY")?;
            let name = self.ident()?;
            self.expect_keyword("ON")?;
            let database = self.ident()?;
            if !self.at_keyword("DURATION") {
                return Err(self.unexpected(&["DURATION"]));
            }
            let options = self.policy_options(false)?;
            if options.replication.is_none() {
                return Err(self.unexpected(&["REPLICATION"]));
            }
            return Ok(Statement::CreateRetentionPolicy {
                name,
                database,
                options,
            });
        }
        if self.eat_keyword("CONTINUOUS") {
            self.expect_keyword("QUERY")?;
            let name = self.ident()?;
            self.expect_keyword("ON")?;
            let database = self.ident()?;
            let (mut resample_every, mut resample_for) = (None, None);
            if self.eat_keyword("RESAMPLE") {
                loop {
                    if self.eat_keyword("EVERY") {
                        resample_every = Some(self.duration()?);
                    } else if self.eat_keyword("FOR") {
                        resample_for = Some(self.duration()?);
                    } else {
                        break;
                    }
                }
                if resample_every.is_none() && resample_for.is_none() {
                    return Err(self.unexpected(&["EVERY", "FOR"]));
                }
            }
            self.expect_keyword("BEGIN")?;
            if !self.at_keyword("SELECT") {
                return Err(self.unexpected(&["SELECT"]));
            }
            let query = Box::new(self.select()?);
            self.expect_keyword("END")?;
            return Ok(Statement::CreateContinuousQuery {
                name,
                database,
                resample_every,
                resample_for,
                query,
            });
        }
        if self.eat_keyword("USER") {
            let name = self.ident()?;
            self.expect_keyword("WITH")?;
            self.expect_keyword("PASSWORD")?;
            let password = self.string()?;
            let admin = if self.eat_keyword("WITH") {
                self.expect_keyword("ALL")?;
                self.expect_keyword("PRIVILEGES")?;
                true
            } else {
                false
            };
            return Ok(Statement::CreateUser {
                name,
                password,
                admin,
            });
        }
        if self.eat_keyword("SUBSCRIPTION") {
            let name = self.ident()?;
            let (database, retention_policy) = self.on_database_policy()?;
            self.expect_keyword("DESTINATIONS")?;
            let mode = if self.eat_keyword("ANY") {
                SubscriptionMode::Any
            } else if self.eat_keyword("ALL") {
                SubscriptionMode::All
            } else {
                return Err(self.unexpected(&["ALL", "ANY"]));
            };
            let mut destinations = vec![self.string()?];
            while self.peek().kind == TokenKind::Comma {
                self.advance();
                destinations.push(self.string()?);
            }
            return Ok(Statement::CreateSubscription {
                name,
                database,
                retention_policy,
                mode,
                destinations,
            });
        }
        Err(self.unexpected(&[
            "CONTINUOUS",
            "DATABASE",
            "USER",
            "RETENTION",
            "SUBSCRIPTION",
        ]))
    }

    pub(super) fn drop(&mut self) -> Result<Statement> {
        self.advance();
        if self.eat_keyword("DATABASE") {
            return Ok(Statement::DropDatabase {
                name: self.ident()?,
            });
        }
        if self.eat_keyword("RETENTION") {
            self.expect_keyword("POLICY")?;
            let name = self.ident()?;
            self.expect_keyword("ON")?;
            let database = self.ident()?;
            return Ok(Statement::DropRetentionPolicy { name, database });
        }
        if self.eat_keyword("CONTINUOUS") {
            self.expect_keyword("QUERY")?;
            let name = self.ident()?;
            self.expect_keyword("ON")?;
            return Ok(Statement::DropContinuousQuery {
                name,
                database: self.ident()?,
            });
        }
        if self.eat_keyword("SERIES") {
            let (sources, condition) = self.deletion_scope()?;
            return Ok(Statement::DropSeries { sources, condition });
        }
        if self.eat_keyword("SHARD") {
            return match self.peek().kind {
                TokenKind::Integer(n) if n >= 0 => {
                    self.advance();
                    Ok(Statement::DropShard { id: n as u64 })
                }
                _ => Err(self.unexpected(&["integer"])),
            };
        }
        if self.eat_keyword("MEASUREMENT") {
            return Ok(Statement::DropMeasurement {
                name: self.ident()?,
            });
        }
        if self.eat_keyword("USER") {
            return Ok(Statement::DropUser {
                name: self.ident()?,
            });
        }
        if self.eat_keyword("SUBSCRIPTION") {
            let name = self.ident()?;
            let (database, retention_policy) = self.on_database_policy()?;
            return Ok(Statement::DropSubscription {
                name,
                database,
                retention_policy,
            });
        }
        Err(self.unexpected(&[
            "CONTINUOUS",
            "MEASUREMENT",
            "RETENTION",
            "SERIES",
            "SHARD",
            "SUBSCRIPTION",
            "USER",
        ]))
    }

    /// `[DURATION d|INF] [REPLICATION n] [SHARD DURATION d] [NAME n] [DEFAULT]` in any order.
    pub(super) fn policy_options(&mut self, with_name: bool) -> Result<RetentionPolicyOptions> {
        let mut o = RetentionPolicyOptions::default();
        loop {
            if self.eat_keyword("DURATION") {
                o.duration = Some(if self.eat_keyword("INF") {
                    0
                } else {
                    self.duration()?
                });
            } else if self.eat_keyword("REPLICATION") {
                match self.peek().kind {
                    TokenKind::Integer(n) if n >= 1 && n <= i64::from(i32::MAX) => {
                        self.advance();
                        o.replication = u32::try_from(n).ok();
                    }
                    TokenKind::Integer(n) => {
                        return Err(self.error_here(format!(
                            "invalid value {n}: must be 1 <= n <= {}",
                            i32::MAX
                        )))
                    }
                    _ => return Err(self.unexpected(&["integer"])),
                }
            } else if self.eat_keyword("SHARD") {
                self.expect_keyword("DURATION")?;
                o.shard_duration = Some(self.duration()?);
            } else if with_name && self.eat_keyword("NAME") {
                o.name = Some(self.ident()?);
            } else if !with_name && self.eat_keyword("DEFAULT") {
                o.default = true;
            } else {
                return Ok(o);
            }
        }
    }

    /// `[ON db] [FROM sources] [WITH KEY …] [WHERE …] [LIMIT n] [OFFSET n]` of schema SHOWs.
    pub(super) fn show_statement(
        &mut self,
        with_key: bool,
    ) -> Result<(ShowStatement, Option<TagKeyFilter>)> {
        let database = self.on_database()?;
        let mut sources = Vec::new();
        if self.eat_keyword("FROM") {
            loop {
                sources.push(self.measurement()?);
                if self.peek().kind != TokenKind::Comma {
                    break;
                }
                self.advance();
            }
        }
        let key = if with_key {
            self.expect_keyword("WITH")?;
            self.expect_keyword("KEY")?;
            Some(self.tag_key_filter()?)
        } else {
            None
        };
        let condition = self.where_clause()?;
        let limit = self.optional_unsigned("LIMIT")?;
        let offset = self.optional_unsigned("OFFSET")?;
        Ok((
            ShowStatement {
                database,
                sources,
                condition,
                limit,
                offset,
            },
            key,
        ))
    }

    pub(super) fn tag_key_filter(&mut self) -> Result<TagKeyFilter> {
        let op = self.peek().kind.clone();
        match op {
            TokenKind::Eq | TokenKind::Neq => {
                self.advance();
                let key = self.ident_or_keyword_time()?;
                Ok(if op == TokenKind::Eq {
                    TagKeyFilter::Eq(key)
                } else {
                    TagKeyFilter::Neq(key)
                })
            }
            TokenKind::EqRegex | TokenKind::NeqRegex => {
                self.advance();
                self.at_regex();
                self.expect(TokenKind::Slash, "regex")?;
                let re = self.regex_body()?;
                Ok(if op == TokenKind::EqRegex {
                    TagKeyFilter::Regex(re)
                } else {
                    TagKeyFilter::NotRegex(re)
                })
            }
            TokenKind::Ident(w) if w.eq_ignore_ascii_case("IN") => {
                self.advance();
                self.expect(TokenKind::LParen, "(")?;
                let mut keys = vec![self.ident_or_keyword_time()?];
                while self.peek().kind == TokenKind::Comma {
                    self.advance();
                    keys.push(self.ident_or_keyword_time()?);
                }
                self.expect(TokenKind::RParen, ")")?;
                Ok(TagKeyFilter::In(keys))
            }
            // InfluxDB names only these three, though it takes != and !~ too.
            _ => Err(self.unexpected(&["IN", "=", "=~"])),
        }
    }
}
