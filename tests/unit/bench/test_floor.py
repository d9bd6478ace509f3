"""tests/bench/floor.py's host script: the floor does the deploy's work in the
deploy's order, so that it is a fair floor."""

COMMIT = "c0ffee" + "0" * 34


def test_each_instance_is_restarted_alone_and_waited_for_before_the_next(scripts):
    floor = scripts("bench", "floor").floor
    lines = floor.host_script(COMMIT, ["api", "gateway"]).splitlines()
    steps = [line for line in lines if line.startswith(("systemctl restart", "wait_for "))]
    assert steps == ["systemctl restart pakashop-api@1", "wait_for 8100 " + COMMIT,
                     "systemctl restart pakashop-api@2", "wait_for 8101 " + COMMIT,
                     "systemctl restart pakashop-gateway@1", "wait_for 8080 " + COMMIT]


def test_current_moves_after_the_release_is_unpacked_and_by_a_rename(scripts):
    floor = scripts("bench", "floor").floor
    lines = floor.host_script(COMMIT, ["api"]).splitlines()
    unpack = next(i for i, line in enumerate(lines) if line.startswith("tar -xzf /tmp/floor-api.tar.gz"))
    swap = next(i for i, line in enumerate(lines) if "mv -T /opt/pakashop/api/current.new /opt/pakashop/api/current"
                in line)
    first_restart = next(i for i, line in enumerate(lines) if line.startswith("systemctl restart"))
    assert unpack < swap < first_restart
    assert f"echo {COMMIT} > /opt/pakashop/api/releases/floor-c0ffee000000/REVISION" in lines


def test_a_worker_without_a_port_is_waited_for_on_what_it_told_systemd(scripts):
    floor = scripts("bench", "floor").floor
    lines = floor.host_script(COMMIT, ["notifications"]).splitlines()
    steps = [line for line in lines if line.startswith(("systemctl restart", "wait_for ", "wait_for_status "))]
    assert steps == ["systemctl restart pakashop-notifications@1", "wait_for_status pakashop-notifications@1 " + COMMIT]
