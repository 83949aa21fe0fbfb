-- Demo mode's simulated bank (services/escrow/adapters/simulated_bank.py): every movement
-- it has made, taken once per (kind, reference, account) whichever escrow replica sends it;
-- a day's rows are the statement the escrow reconciles.
CREATE TABLE bank_movements (
    kind      TEXT NOT NULL,
    reference TEXT NOT NULL,
    account   TEXT NOT NULL,
    amount    BIGINT NOT NULL,
    at        TEXT NOT NULL,
    day       TEXT NOT NULL,
    seq       BIGSERIAL NOT NULL,
    PRIMARY KEY (kind, reference, account)
);
CREATE INDEX bank_movements_day ON bank_movements (day, seq);
