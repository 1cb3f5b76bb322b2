"""The seed project's loaders, ported to ``graph_checkpoint.compat``.

Ports of ``examples/example_simple_loader.py``, ``src/loaders/persoon_loader.py`` (with its
processor), ``src/loaders/zaal_loader.py``, ``src/loaders/threading/threaded_loader.py`` and
the run management of ``src/main.py`` / ``src/core/loader_manager.py`` of
Niekvandam/neo4j-tkapi. The changes are the ones a user makes, marked ``# port:``:

* imports: ``core.checkpoint.*`` becomes ``graph_checkpoint.compat``, and ``tkapi`` the
  in-memory fake of :mod:`fake_tkapi`;
* writes go through the ``tx`` the checkpoint hands over: ``process(item)`` becomes
  ``process(tx, item)`` and ``session.execute_write(helper, ...)`` becomes
  ``helper(tx, ...)``; hand-written loops mark items inside the transaction that wrote them;
* ``CheckpointManager()`` gets the connection.

The loaders' other code (fetching, skip counts, the existence pre-check, run management)
stays as the seed wrote it, but shortened: printing goes through ``print`` like the seed's.
Data writes count themselves (``loads``), so a test sees any item written twice.
"""

from __future__ import annotations

import argparse
import inspect
import json
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import neo4j

from graph_checkpoint.compat import (  # port: was core.checkpoint.checkpoint_decorator/_manager
    CheckpointManager,
    LoaderCheckpoint,
    checkpoint_loader,
    with_checkpoint,
)

from .fake_tkapi import Persoon, TKApi, Zaal  # port: was tkapi, tkapi.persoon, tkapi.activiteit

# --------------------------------------------------------------- core/connection, utils


class Neo4jConnection:
    """The seed's connection object: a driver and a database."""

    def __init__(self, driver: neo4j.Driver, database: str | None = None) -> None:
        self.driver = driver
        self.database = database

    def close(self) -> None:
        """The seed closed its driver here; the tests own theirs."""


def merge_node(tx: Any, label: str, key: str, props: dict[str, Any]) -> None:
    """MERGE a node by its key and set its properties; ``loads`` counts the writes."""
    tx.run(
        f"MERGE (n:{label} {{{key}: $value}}) SET n += $props, n.loads = coalesce(n.loads, 0) + 1",
        value=props[key],
        props=props,
    ).consume()


def merge_rel(
    tx: Any,
    from_label: str,
    from_key: str,
    from_value: Any,
    to_label: str,
    to_key: str,
    to_value: Any,
    rel_type: str,
) -> None:
    """MERGE a relationship between two existing nodes."""
    tx.run(
        f"MATCH (a:{from_label} {{{from_key}: $a}}) MATCH (b:{to_label} {{{to_key}: $b}})"
        f" MERGE (a)-[:{rel_type}]->(b)",
        a=from_value,
        b=to_value,
    ).consume()


def batch_check_nodes_exist(session: Any, label: str, key: str, ids: list[str]) -> set[str]:
    """The ids among ``ids`` that already have a node."""
    result = session.run(f"MATCH (n:{label}) WHERE n.{key} IN $ids RETURN n.{key} AS id", ids=ids)
    return {record["id"] for record in result}


REL_MAP_ZAAL = {"activiteiten": ("Activiteit", "GEBRUIKT_DOOR", "id")}


# ------------------------------------------------------------ examples/example_simple_loader


@checkpoint_loader(checkpoint_interval=25)
def load_simple_items(
    conn: Neo4jConnection, items: list[Any], _checkpoint_context: Any = None
) -> None:
    """A simple loader: the decorator skips, checkpoints and records failures."""

    def process_single_item(tx: Any, item: Any) -> None:  # port: takes tx, writes with it
        tx.run(
            "MERGE (n:Item {id: $id}) SET n.name = $name, n.loads = coalesce(n.loads, 0) + 1",
            id=item.id,
            name=item.name,
        ).consume()

    if _checkpoint_context:
        _checkpoint_context.process_items(items, process_single_item)
    else:
        with conn.driver.session(database=conn.database) as session:
            for item in items:
                session.execute_write(process_single_item, item)


@with_checkpoint(
    checkpoint_interval=10,  # custom interval
    get_item_id=lambda item: f"custom_{item.nummer}_{item.id}",  # custom id function
)
def load_custom_items(
    conn: Neo4jConnection, items: list[Any], _checkpoint_context: Any = None
) -> None:
    """Custom checkpoint configuration: interval 10, ids from a function."""

    def process_single_item(tx: Any, item: Any) -> None:  # port: takes tx
        tx.run("CREATE (:CustomItem {nummer: $nummer})", nummer=item.nummer).consume()

    if _checkpoint_context:
        _checkpoint_context.process_items(items, process_single_item)


FAIL_COMPLEX: set[str] = set()
"""Ids that ``process_step_1`` refuses (a test fills it, then empties it to let them through)."""


@checkpoint_loader(checkpoint_interval=25)
def load_complex_items(
    conn: Neo4jConnection, items: list[Any], _checkpoint_context: Any = None
) -> None:
    """Manual checkpoint handling for complex scenarios."""
    if _checkpoint_context:
        _checkpoint_context.set_total_items(items)

    for i, item in enumerate(items, 1):
        if _checkpoint_context and _checkpoint_context.is_processed(item):
            continue

        try:
            # port: the steps run in one transaction, which also marks the item
            def work(tx: Any, item: Any = item) -> None:
                result1 = process_step_1(tx, item)
                result2 = process_step_2(tx, item, result1)
                finalize_processing(tx, item, result2)
                if _checkpoint_context:
                    _checkpoint_context.mark_processed(item, tx=tx)

            with conn.driver.session(database=conn.database) as session:
                session.execute_write(work)

            if _checkpoint_context:
                _checkpoint_context.save_progress_if_needed(i)

        except Exception as e:
            error_msg = f"Failed to process complex item {item.id}: {e!s}"
            print(f"x {error_msg}")
            if _checkpoint_context:
                _checkpoint_context.mark_failed(item, error_msg)
            continue


def process_step_1(tx: Any, item: Any) -> str:
    if item.id in FAIL_COMPLEX:
        raise RuntimeError(f"step 1 refused {item.id}")
    return f"step1_result_for_{item.id}"


def process_step_2(tx: Any, item: Any, result1: str) -> str:
    return f"step2_result_for_{item.id}_with_{result1}"


def finalize_processing(tx: Any, item: Any, result2: str) -> None:
    tx.run("CREATE (:ComplexItem {id: $id, result: $result})", id=item.id, result=result2).consume()


# ------------------------------------------------- loaders/processors/persoon_processor


def process_single_persoon(tx: Any, persoon_obj: Persoon, debug_file: Any = None) -> bool:
    """Write one Persoon with its party seats (port: ``session`` became ``tx``)."""
    if not persoon_obj or not persoon_obj.id:
        return False
    props = {
        "id": persoon_obj.id,
        "achternaam": persoon_obj.achternaam,
        "roepnaam": persoon_obj.roepnaam,
        "geboortedatum": persoon_obj.geboortedatum,
    }
    merge_node(tx, "Persoon", "id", props)  # port: was session.execute_write(merge_node, ...)
    for zetel in persoon_obj.fractie_zetels:
        fractie = zetel.fractie
        merge_node(tx, "Fractie", "id", {"id": fractie.id, "naam": fractie.naam})
        merge_rel(tx, "Persoon", "id", persoon_obj.id, "Fractie", "id", fractie.id, "LID_VAN")
    if debug_file is not None:
        debug_file.write(json.dumps({"id": persoon_obj.id}) + "\n")
    return True


def process_single_persoon_threaded(
    persoon_obj: Persoon, conn: Neo4jConnection, checkpoint_context: Any = None
) -> bool:
    """Process one Persoon in a worker thread, in a session of its own."""
    try:
        with conn.driver.session(database=conn.database) as session:
            # port: the item is marked in the transaction that writes it
            def work(tx: Any) -> bool:
                if checkpoint_context and checkpoint_context.is_processed(persoon_obj, tx):
                    return True
                success = process_single_persoon(tx, persoon_obj)
                if success and checkpoint_context:
                    checkpoint_context.mark_processed(persoon_obj, tx)
                return success

            success = session.execute_write(work)
        if not success and checkpoint_context:
            checkpoint_context.mark_failed(persoon_obj, "Processing failed")
        return success
    except Exception as e:
        if checkpoint_context:
            checkpoint_context.mark_failed(persoon_obj, str(e))
        return False


# ----------------------------------------------------------------- loaders/persoon_loader


DEBUG_DIR = Path(tempfile.gettempdir())


def _fetch_personen_from_api(batch_size: int | None = None) -> list[Persoon]:
    api = TKApi()
    if batch_size is not None and batch_size > 0:
        personen = api.get_items(Persoon, max_items=batch_size)
    else:
        personen = api.get_items(Persoon)
    print(f"-> Fetched {len(personen)} Personen")
    return personen


@checkpoint_loader(checkpoint_interval=25)
def load_personen(
    conn: Neo4jConnection,
    batch_size: int | None = None,
    skip_count: int = 0,
    overwrite: bool = False,
    _checkpoint_context: Any = None,
) -> None:
    """Load all Personen with automatic checkpoint support using decorator."""
    personen = _fetch_personen_from_api(batch_size)
    if not personen:
        print("No personen found.")
        return

    if skip_count > 0:
        if skip_count >= len(personen):
            print(f"Skip count ({skip_count}) >= total items ({len(personen)}).")
            return
        personen = personen[skip_count:]

    if not overwrite and personen:
        persoon_ids = [p.id for p in personen if p and p.id]
        with conn.driver.session(database=conn.database) as session:
            existing_ids = batch_check_nodes_exist(session, "Persoon", "id", persoon_ids)
        if existing_ids:
            personen = [p for p in personen if p.id not in existing_ids]
            if not personen:
                print("All Personen already exist in Neo4j. Nothing to process.")
                return

    debug_path = DEBUG_DIR / f"debug_personen_{threading.get_ident()}.jsonl"
    with debug_path.open("w", encoding="utf-8") as dbg:

        def process_wrapper(tx: Any, persoon_obj: Persoon) -> bool:  # port: tx, no session
            return process_single_persoon(tx, persoon_obj, debug_file=dbg)

        if _checkpoint_context:
            _checkpoint_context.process_items(personen, process_wrapper)
        else:
            with conn.driver.session(database=conn.database) as session:
                for p in personen:
                    session.execute_write(process_wrapper, p)
    print("Loaded Personen and their related entities.")


def load_personen_threaded(
    conn: Neo4jConnection,
    batch_size: int | None = None,
    max_workers: int = 10,
    skip_count: int = 0,
    overwrite: bool = False,
    checkpoint_manager: CheckpointManager | None = None,
) -> dict[str, Any]:
    """Load Personen using multithreading for faster processing."""
    personen = _fetch_personen_from_api(batch_size)
    if not personen:
        return {"processed": 0, "failed": 0, "skipped": 0, "total": 0}
    return process_items_threaded(
        items=personen,
        process_func=process_single_persoon_threaded,
        conn=conn,
        max_workers=max_workers,
        checkpoint_manager=checkpoint_manager,
        loader_name="load_personen_threaded",
        skip_count=skip_count,
        overwrite=overwrite,
        node_label="Persoon",
    )


# ------------------------------------------------------------------- loaders/zaal_loader


@checkpoint_loader(checkpoint_interval=25)
def load_zalen(
    conn: Neo4jConnection, batch_size: int = 50, _checkpoint_context: Any = None
) -> None:
    """Load Zaal entities with automatic checkpoint support."""
    api = TKApi()
    zalen = api.get_items(Zaal, max_items=batch_size) if batch_size else api.get_items(Zaal)
    print(f"-> Fetched {len(zalen)} Zalen")
    if not zalen:
        print("No Zalen found.")
        return

    # port: the loop over a session became a per-item function handed the transaction
    def process_zaal(tx: Any, zaal: Zaal) -> None:
        props = {
            "id": zaal.id,
            "naam": getattr(zaal, "naam", None),
            "gebouw": getattr(zaal, "gebouw", None),
        }
        merge_node(tx, "Zaal", "id", props)
        for rel_name, (target_label, rel_type, target_key) in REL_MAP_ZAAL.items():
            rel_items = getattr(zaal, rel_name, [])
            if not isinstance(rel_items, (list, tuple)):
                rel_items = [rel_items] if rel_items else []
            for rel_obj in rel_items:
                target_value = getattr(rel_obj, target_key, None)
                if target_value:
                    target_props = {target_key: target_value}
                    if hasattr(rel_obj, "onderwerp"):
                        target_props["onderwerp"] = rel_obj.onderwerp
                    merge_node(tx, target_label, target_key, target_props)
                    merge_rel(
                        tx, "Zaal", "id", zaal.id, target_label, target_key, target_value, rel_type
                    )

    if _checkpoint_context:
        _checkpoint_context.process_items(zalen, process_zaal)
    print("Loaded Zalen and related entities.")


# ------------------------------------------------------- loaders/threading/threaded_loader


_thread_lock = threading.Lock()
_counts = {"processed": 0, "failed": 0}


class SimpleCheckpointContext:
    """Simple checkpoint context for thread compatibility."""

    def __init__(self, checkpoint_obj: LoaderCheckpoint | None) -> None:
        self.checkpoint = checkpoint_obj

    def is_processed(self, item: Any, tx: Any = None) -> bool:  # port: reads inside tx
        return bool(self.checkpoint and self.checkpoint.is_processed(item.id, tx=tx))

    def mark_processed(self, item: Any, tx: Any = None) -> None:  # port: marks inside tx
        if self.checkpoint:
            self.checkpoint.mark_processed(item.id, tx=tx)

    def mark_failed(self, item: Any, error_msg: str) -> None:
        if self.checkpoint:
            self.checkpoint.mark_failed(item.id, error_msg)


def process_items_threaded(
    items: list[Any],
    process_func: Callable[..., bool],
    conn: Neo4jConnection,
    max_workers: int = 10,
    checkpoint_manager: CheckpointManager | None = None,
    loader_name: str = "unknown",
    skip_count: int = 0,
    overwrite: bool = False,
    node_label: str | None = None,
) -> dict[str, Any]:
    """Generic threaded processor for API items."""
    with _thread_lock:
        _counts.update(processed=0, failed=0)

    checkpoint = None
    checkpoint_context = None
    if checkpoint_manager:
        checkpoint = LoaderCheckpoint(checkpoint_manager, loader_name)
        checkpoint.set_total_items(len(items))
        checkpoint_context = SimpleCheckpointContext(checkpoint)

    if skip_count > 0:
        items = items[skip_count:]

    if not overwrite and items and node_label:
        item_ids = [item.id for item in items if item and item.id]
        with conn.driver.session(database=conn.database) as session:
            existing_ids = batch_check_nodes_exist(session, node_label, "id", item_ids)
        items = [item for item in items if item.id not in existing_ids]

    if checkpoint:
        items_to_process = [item for item in items if not checkpoint.is_processed(item.id)]
    else:
        items_to_process = items

    start_time = time.time()
    with ThreadPoolExecutor(max_workers=max_workers) as executor:
        futures = {
            executor.submit(process_func, item, conn, checkpoint_context): item
            for item in items_to_process
        }
        for future in as_completed(futures):
            key = "processed" if future.result() else "failed"
            with _thread_lock:
                _counts[key] += 1

    if checkpoint:
        checkpoint.save_progress()
        stats = checkpoint.get_progress_stats()
        print(f"Checkpoint Stats: {stats['processed_count']}/{stats['total_items']}")
    return {
        **_counts,
        "skipped": len(items) - len(items_to_process) + skip_count,
        "total": len(items) + skip_count,
        "elapsed_time": time.time() - start_time,
    }


# ----------------------------------------------------- main.py / core/loader_manager.py


def run_loader_with_checkpoint(
    checkpoint_manager: CheckpointManager,
    loader_name: str,
    loader_func: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> bool:
    """Run a loader function with checkpoint management and error handling."""
    if checkpoint_manager.is_loader_completed(loader_name):
        print(f"Skipping {loader_name} - already completed")
        return True

    print(f"Starting {loader_name}...")
    try:
        sig = inspect.signature(loader_func)
        if "_checkpoint_context" in sig.parameters or "checkpoint_manager" in sig.parameters:
            kwargs["checkpoint_manager"] = checkpoint_manager
        loader_func(*args, **kwargs)
        checkpoint_manager.mark_loader_complete(loader_name)
        return True
    except Exception as e:
        error_message = f"{e!s}\n{traceback.format_exc()}"
        print(f"Error in {loader_name}: {e!s}")
        checkpoint_manager.mark_loader_failed(loader_name, error_message)
        return False


def handle_run_management(
    checkpoint_manager: CheckpointManager, args: argparse.Namespace, config: dict[str, Any]
) -> bool:
    """Start, resume and validate the run, as the seed's main.py does."""
    description = f"Data load for items from {args.start_date} onwards"
    run_started = False
    if args.new_run:
        checkpoint_manager.start_new_run(description, config)
        run_started = True
    elif args.resume_run:
        run_started = checkpoint_manager.resume_run(args.resume_run) is not None
    elif args.resume:
        run_started = checkpoint_manager.resume_run() is not None

    if not run_started:
        checkpoint_manager.start_new_run(description, config)
    elif not args.new_run and not checkpoint_manager.validate_config_compatibility(config):
        print("Configuration mismatch detected!")
        stored_config = checkpoint_manager.get_run_config()
        if stored_config:
            summary = checkpoint_manager._format_config_summary(stored_config)
            print(f"Original configuration: {summary}")
        return False
    return True


def execute_all_loaders(
    conn: Neo4jConnection, checkpoint_manager: CheckpointManager, config: dict[str, Any]
) -> bool:
    """Execute the loaders in sequence; True if all of them completed."""
    loaders: list[dict[str, Any]] = [
        {
            "name": "personen",
            "func": load_personen_threaded if config["threaded"] else load_personen,
            "args": (conn,),
            "kwargs": {"overwrite": config["overwrite"], "max_workers": config.get("max_workers")}
            if config["threaded"]
            else {"overwrite": config["overwrite"]},
        },
        {"name": "zalen", "func": load_zalen, "args": (conn,), "kwargs": {}},
    ]
    success = True
    for loader_config in loaders:
        kwargs = {k: v for k, v in loader_config["kwargs"].items() if v is not None}
        if not run_loader_with_checkpoint(
            checkpoint_manager,
            loader_config["name"],
            loader_config["func"],
            *loader_config["args"],
            **kwargs,
        ):
            success = False
    return success


def create_argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Neo4j TK API Data Loader (ported)")
    parser.add_argument("--start-date", default="2024-01-01")
    parser.add_argument("--new-run", action="store_true")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--resume-run")
    parser.add_argument("--list-runs", action="store_true")
    parser.add_argument("--cleanup", action="store_true")
    parser.add_argument("--threaded", action="store_true")
    parser.add_argument("--max-workers", type=int, default=4)
    parser.add_argument("--overwrite", action="store_true")
    return parser


def args_to_config(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "start_date": args.start_date,
        "threaded": args.threaded,
        "max_workers": args.max_workers,
        "overwrite": args.overwrite,
    }


def main(argv: list[str], driver: neo4j.Driver, database: str | None = None) -> int:
    """The seed's main(): run management, then every loader, then complete the run."""
    args = create_argument_parser().parse_args(argv)
    conn = Neo4jConnection(driver, database)  # port: the seed read the connection from env
    checkpoint_manager = CheckpointManager(conn)  # port: was CheckpointManager()
    try:
        if args.list_runs:
            for run_info in checkpoint_manager.list_runs():
                print(f"{run_info['run_id']} - {run_info['status']} - {run_info['start_time']}")
            return 0
        if args.cleanup:
            checkpoint_manager.cleanup_old_runs()
            return 0
        config = args_to_config(args)
        if not handle_run_management(checkpoint_manager, args, config):
            return 2
        print(f"run {checkpoint_manager.current_run_id}", flush=True)
        if execute_all_loaders(conn, checkpoint_manager, config):
            checkpoint_manager.complete_run()
            print("All loaders completed successfully!")
            return 0
        print("Some loaders failed. You can resume this run later with --resume.")
        return 1
    finally:
        checkpoint_manager.close()  # port: a run left open ends interrupted, resumable
        conn.close()
