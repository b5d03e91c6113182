import CPulseSystem
import Foundation

/// INFO's text: Redis 7.0's sections, in its order, with the fields clients and
/// tools read. Figures Redis keeps and this store has no counterpart for (replication
/// offsets, AOF, modules) are given as a Redis without them gives them.
extension Store {
    static let defaultInfoSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
                                      "errorstats", "cluster", "keyspace"]
    static let allInfoSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
                                  "commandstats", "errorstats", "latencystats", "cluster", "keyspace"]

    /// The sections INFO's arguments ask for (none: the default ones; `all`, `everything`
    /// and `default` as Redis reads them; unknown names add nothing), in Redis's order.
    static func infoSections(_ arguments: [String]) -> [String] {
        var asked = Set(arguments.map { $0.lowercased() })
        if asked.isEmpty { asked = ["default"] }
        if asked.contains("default") { asked.formUnion(defaultInfoSections) }
        if asked.contains("all") || asked.contains("everything") { asked.formUnion(allInfoSections) }
        return allInfoSections.filter(asked.contains)
    }

    func info(_ sections: [String], asker session: Session) -> String {
        sections.map { section in
            let title = section == "cpu" ? "CPU" : section.prefix(1).uppercased() + section.dropFirst()
            let lines = infoFields(section, session).map { "\($0.0):\($0.1)\r\n" }.joined()
            return "# \(title)\r\n" + lines
        }.joined(separator: "\r\n")
    }

    private func infoFields(_ section: String, _ session: Session) -> [(String, String)] {
        switch section {
        case "server": serverFields(session)
        case "clients":
            [("connected_clients", "\(sessions.count)"), ("cluster_connections", "0"), ("maxclients", "\(maxClients)"),
             ("client_recent_max_input_buffer", "0"), ("client_recent_max_output_buffer", "0"),
             ("blocked_clients", "\(sessions.values.filter { $0.blocked != nil }.count)"), ("tracking_clients", "0")]
        case "memory": memoryFields()
        case "persistence":
            [("loading", "0"), ("async_loading", "0"), ("rdb_changes_since_last_save", "\(changes - changesAtLastSave)"),
             ("rdb_bgsave_in_progress", saving.withLockedValue { $0 } ? "1" : "0"),
             ("rdb_last_save_time", "\(Int(lastSave.timeIntervalSince1970))"),
             ("rdb_last_bgsave_status", lastBackgroundSaveSucceeded.withLockedValue { $0 } ? "ok" : "err"),
             ("rdb_saves", "\(stats.saves)"), ("aof_enabled", "0"), ("aof_rewrite_in_progress", "0"),
             ("aof_last_write_status", "ok")]
        case "stats":
            [("total_connections_received", "\(stats.connectionsReceived)"),
             ("total_commands_processed", "\(commandsProcessed - stats.commandsAtReset)"),
             ("instantaneous_ops_per_sec", "\(stats.operationsPerSecond)"), ("total_net_input_bytes", "\(stats.inputBytes)"),
             ("total_net_output_bytes", "\(stats.outputBytes)"), ("rejected_connections", "\(stats.rejectedConnections)"),
             ("expired_keys", "\(databases.reduce(0) { $0 + $1.expired })"), ("evicted_keys", "0"),
             ("keyspace_hits", "\(stats.keyspaceHits)"), ("keyspace_misses", "\(stats.keyspaceMisses)"),
             ("pubsub_channels", "\(pubsub.channels.count)"), ("pubsub_patterns", "\(pubsub.patterns.count)"),
             ("total_error_replies", "\(stats.errorReplies)")]
        case "replication":
            [("role", "master"), ("connected_slaves", "0"), ("master_failover_state", "no-failover"), ("master_replid", runID),
             ("master_replid2", String(repeating: "0", count: 40)), ("master_repl_offset", "0"), ("second_repl_offset", "-1"),
             ("repl_backlog_active", "0"), ("repl_backlog_size", "1048576"), ("repl_backlog_first_byte_offset", "0"),
             ("repl_backlog_histlen", "0")]
        case "cpu":
            cpuFields()
        case "commandstats":
            stats.commands.sorted { $0.key < $1.key }.map { name, command in
                let perCall = command.calls == 0 ? 0 : Double(command.microseconds) / Double(command.calls)
                return ("cmdstat_\(name)", "calls=\(command.calls),usec=\(command.microseconds),"
                        + "usec_per_call=\(String(format: "%.2f", perCall)),rejected_calls=\(command.rejected),failed_calls=\(command.failed)")
            }
        case "errorstats":
            stats.errors.sorted { $0.key < $1.key }.map { ("errorstat_\($0.key)", "count=\($0.value)") }
        case "cluster":
            [("cluster_enabled", "0")]
        case "keyspace":
            keyspaceFields()
        default:
            []
        }
    }

    private func serverFields(_ session: Session) -> [(String, String)] {
        var name = utsname()
        uname(&name)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let now = Date()
        let uptime = Int(now.timeIntervalSince(startedAt))
        return [("redis_version", "7.0.0"), ("pulse_data_store", "1"), ("redis_git_sha1", "00000000"), ("redis_git_dirty", "0"),
                ("redis_build_id", "0"), ("redis_mode", "standalone"),
                ("os", "\(text(name.sysname)) \(text(name.release)) \(text(name.machine))"), ("arch_bits", "64"),
                ("monotonic_clock", "POSIX clock_gettime"), ("multiplexing_api", "epoll"), ("atomicvar_api", "c11-builtin"),
                ("gcc_version", "0.0.0"), ("process_id", "\(getpid())"), ("process_supervised", "no"), ("run_id", runID),
                ("tcp_port", session.localAddress.split(separator: ":").last.map(String.init) ?? "0"),
                ("server_time_usec", "\(Int64(now.timeIntervalSince1970 * 1_000_000))"),
                ("uptime_in_seconds", "\(uptime)"), ("uptime_in_days", "\(uptime / 86400)"), ("hz", "10"), ("configured_hz", "10"),
                ("lru_clock", "\(Int64(now.timeIntervalSince1970) & ((1 << 24) - 1))"),
                ("executable", (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""), ("config_file", ""), ("io_threads_active", "0")]
    }

    private func memoryFields() -> [(String, String)] {
        let used = Int(pulse_heap_in_use())
        stats.peakMemory = max(stats.peakMemory, used)
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        let total = sysconf(Int32(_SC_PHYS_PAGES)) * pageSize
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let rss = (statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * pageSize
        let peakShare = stats.peakMemory == 0 ? 0 : Double(used) * 100 / Double(stats.peakMemory)
        return [("used_memory", "\(used)"), ("used_memory_human", Self.human(used)), ("used_memory_rss", "\(rss)"),
                ("used_memory_rss_human", Self.human(rss)), ("used_memory_peak", "\(stats.peakMemory)"),
                ("used_memory_peak_human", Self.human(stats.peakMemory)),
                ("used_memory_peak_perc", String(format: "%.2f%%", peakShare)),
                ("total_system_memory", "\(total)"), ("total_system_memory_human", Self.human(total)),
                ("maxmemory", "0"), ("maxmemory_human", "0B"), ("maxmemory_policy", "noeviction"),
                ("mem_fragmentation_ratio", String(format: "%.2f", used == 0 ? 0 : Double(rss) / Double(used))),
                ("mem_allocator", "libc"), ("lazyfree_pending_objects", "0")]
    }

    private func cpuFields() -> [(String, String)] {
        var (user, system, childrenUser, childrenSystem) = (0.0, 0.0, 0.0, 0.0)
        pulse_cpu_seconds(&user, &system, &childrenUser, &childrenSystem)
        return [("used_cpu_sys", String(format: "%.6f", system)), ("used_cpu_user", String(format: "%.6f", user)),
                ("used_cpu_sys_children", String(format: "%.6f", childrenSystem)),
                ("used_cpu_user_children", String(format: "%.6f", childrenUser))]
    }

    /// `db0:keys=3,expires=1,avg_ttl=9981`: the mean time left of the keys that expire, in ms.
    private func keyspaceFields() -> [(String, String)] {
        let now = Self.now()
        return databases.enumerated().compactMap { index, database in
            let keys = database.keys(now: now).count
            guard keys > 0 else { return nil }
            let left = database.expires.values.filter { $0 > now }.map { $0 - now }
            let average = left.isEmpty ? 0 : left.reduce(0, &+) / Int64(left.count)
            return ("db\(index)", "keys=\(keys),expires=\(left.count),avg_ttl=\(average)")
        }
    }

    /// Bytes as Redis's bytesToHuman writes them: 900B, 895.46K, 6.51M, 23.54G.
    static func human(_ bytes: Int) -> String {
        let value = Double(bytes)
        for (limit, unit) in [(1 << 10, "B"), (1 << 20, "K"), (1 << 30, "M"), (1 << 40, "G"), (1 << 50, "T")] where bytes < limit {
            return unit == "B" ? "\(bytes)B" : String(format: "%.2f", value / Double(limit >> 10)) + unit
        }
        return String(format: "%.2fP", value / Double(1 << 50))
    }
}
