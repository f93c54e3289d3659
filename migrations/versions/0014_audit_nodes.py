"""One audit chain per node (dock): docks sharing a database no longer wait on one head row.

The single chain a database had becomes the history of its first node, named after the
dock that wrote its last entry: its entries keep their hashes and signatures (their place
in the node's chain is their old sequence number). The node's public key is filled in when
that dock next starts and proves, with its key, that it signed the chain's head.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_nodes",
        sa.Column("node", sa.String(128), primary_key=True),
        sa.Column("public_key", sa.Text(), nullable=True),
        sa.Column("registered_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("public_key", name="uq_audit_nodes_public_key"),
    )
    heads = op.create_table(
        "audit_heads",
        sa.Column("node", sa.String(128), sa.ForeignKey("audit_nodes.node", name="fk_audit_heads_node_audit_nodes"),
                  primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("node", sa.String(128), nullable=True))
        batch.add_column(sa.Column("node_seq", sa.BigInteger(), nullable=True))
    conn = op.get_bind()
    old = conn.execute(sa.text("select seq, hash, signature from audit_head where id = 1")).first()
    if old is not None and old.seq > 0:
        node = conn.execute(sa.text("select dock from audit_events where seq = :s"), {"s": old.seq}).scalar()
        node = node or "first-node"
        conn.execute(sa.text("insert into audit_nodes (node) values (:n)"), {"n": node})
        op.bulk_insert(heads, [{"node": node, "seq": old.seq, "hash": old.hash, "signature": old.signature}])
        conn.execute(sa.text("update audit_events set node = :n, node_seq = seq"), {"n": node})
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("node", existing_type=sa.String(128), nullable=False)
        batch.alter_column("node_seq", existing_type=sa.BigInteger(), nullable=False)
        batch.create_unique_constraint("uq_audit_events_node_node_seq", ["node", "node_seq"])
    op.drop_table("audit_head")
    if conn.dialect.name == "postgresql":
        # The unit-wide order is handed out without a lock; gaps (a rolled-back change) are harmless.
        op.execute("create sequence audit_event_seq")
        op.execute("select setval('audit_event_seq', coalesce((select max(seq) from audit_events), 0) + 1, false)")


def downgrade() -> None:
    raise NotImplementedError("the per-node audit chains cannot be folded back into one chain")
