//! 中文：每一条 [`Msg`] 的中文文本，术语与原文档一致。

use super::{DeviceChoice, HeaderField, Msg, TableColumn, TimeWaitRule, ms, secs};
use crate::track::{Differs, Note, Role, Step};

/// `0.0.0.0，即所有地址` for a wildcard, the address itself otherwise.
fn served_on(addr: std::net::IpAddr) -> String {
    if addr.is_unspecified() { format!("{addr}，即所有地址") } else { addr.to_string() }
}

/// Linux's table that lists a socket of `local`'s family.
fn proc_table(local: std::net::SocketAddr) -> &'static str {
    if local.is_ipv6() { "/proc/net/tcp6" } else { "/proc/net/tcp" }
}

fn side(role: Role) -> &'static str {
    match role {
        Role::Client => "客户端",
        Role::Server => "服务器",
    }
}

fn rule(rule: TimeWaitRule) -> &'static str {
    match rule {
        TimeWaitRule::Linux => "Linux",
        TimeWaitRule::Rfc => "RFC 9293：2×MSL",
        TimeWaitRule::Custom(_) => "由 --time-wait 指定",
    }
}

fn ordinal(n: u8) -> &'static str {
    match n {
        1 => "一",
        2 => "二",
        3 => "三",
        _ => "四",
    }
}

/// The messages said for every segment or connection, appended to `out` without a
/// string of their own: a big capture has millions of segments. Every other message is
/// [`text`]'s.
pub(super) fn write(out: &mut String, msg: &Msg<'_>) {
    use super::Put;
    // Each line is put together piece by piece (`Put`): `write!` costs several times more.
    match *msg {
        Msg::Transition { side: role, from, to } => {
            out.words(side(role)).words(" ").words(from.name()).words(" → ").words(to.name())
        }
        Msg::Payload { text, shown, total } => {
            out.words("内容 \"").words(text).words("\"");
            if (shown as u64) < u64::from(total) {
                out.words("…（显示 ").count(shown as u64).words(" / ").count(total.into()).words(" 字节）");
            }
            out
        }
        Msg::ConnHeader { conn, client, server, guessed } => {
            out.words("连接 ")
                .count(conn.into())
                .words("：客户端 ")
                .addr(client)
                .words(" ⇄ 服务器 ")
                .addr(server);
            if guessed {
                out.words("（未看到 SYN，客户端为推测）");
            }
            out
        }
        Msg::SummaryOpened { by, rtt_ms, simultaneous } => match (by, rtt_ms) {
            (Some(_), Some(rtt)) if simultaneous => {
                out.words("由两端同时发起（同时打开，RTT ").fixed3(rtt).words(" 毫秒）")
            }
            (Some(r), Some(rtt)) => {
                out.words("由").words(side(r)).words("发起（三次握手，RTT ").fixed3(rtt).words(" 毫秒）")
            }
            (Some(r), None) => out.words("由").words(side(r)).words("发起（握手未完成）"),
            (None, _) => out.words("未抓到连接的建立过程"),
        },
        Msg::SummaryClosed { by, reset } => match (by, reset) {
            (Some(r), true) => out.words("被").words(side(r)).words("复位（RST）"),
            (Some(r), false) => out.words("由").words(side(r)).words("先关闭（主动关闭方）"),
            (None, _) => out.words("抓包中连接没有关闭"),
        },
        Msg::SummaryTraffic { segments_c2s, bytes_c2s, segments_s2c, bytes_s2c } => out
            .words("客户端 → 服务器 ")
            .count(segments_c2s)
            .words(" 个报文、")
            .count(bytes_c2s)
            .words(" 字节；服务器 → 客户端 ")
            .count(segments_s2c)
            .words(" 个报文、")
            .count(bytes_s2c)
            .words(" 字节"),
        Msg::SummarySpan { first_frame, last_frame, secs } => out
            .words("第 ")
            .count(first_frame)
            .words("–")
            .count(last_frame)
            .words(" 帧，持续 ")
            .fixed6(secs)
            .words(" 秒"),
        Msg::SummaryFinal { client, server } => {
            out.words("最终状态：客户端 ").words(client.name()).words("，服务器 ").words(server.name())
        }
        Msg::SummaryTimeWait { side: role, until, rule: tw_rule } => out
            .words(side(role))
            .words("处于 TIME-WAIT，直到 t=")
            .fixed3(until)
            .words(" 秒（")
            .words(rule(tw_rule))
            .words(" = ")
            .float(tw_rule.secs())
            .words(" 秒）"),
        Msg::SummaryZeek { conn_state, history } => {
            out.words("Zeek 连接状态 ").words(conn_state).words("，历史 ").words(history)
        }
        _ => out.words(&text(msg)),
    };
}

pub(super) fn text(msg: &Msg<'_>) -> String {
    match *msg {
        Msg::Side(role) => side(role).into(),
        Msg::StepName(step) => match step {
            Step::Handshake(n) => format!("第{}次握手", ordinal(n)),
            Step::SimultaneousOpen => "同时打开".into(),
            Step::Data => "数据".into(),
            Step::Ack => "确认".into(),
            Step::Teardown(n) => format!("第{}次挥手", ordinal(n)),
            Step::TeardownMerged => "第二、三次挥手（合并）".into(),
            Step::SimultaneousClose => "同时关闭".into(),
            Step::Reset => "复位（RST）".into(),
        },
        Msg::StepExplain { step, sender, len } => {
            let who = side(sender);
            match step {
                Step::Handshake(1) => {
                    "客户端请求建立连接：SYN=1，seq=x 是它的初始序号（ISN）。SYN 不携带数据，\
                     但要消耗一个序号。正在监听的服务器在 SYN 到达的那一刻就进入 SYN-RECEIVED。"
                        .into()
                }
                Step::Handshake(2) => "服务器同意建立连接：SYN=1、ACK=1，选定自己的初始序号 y，并确认 \
                     ack=x+1，即期望收到的客户端的下一个序号。这个报文一到达，客户端就进入 ESTABLISHED。"
                    .into(),
                Step::Handshake(3) => "客户端确认服务器的 SYN：ACK=1，ack=y+1。这个报文到达后，服务器也进入 \
                     ESTABLISHED，连接建立。"
                    .into(),
                Step::Handshake(_) => "握手报文。".into(),
                Step::SimultaneousOpen => "同时打开：双方都在收到对方的 SYN 之前发出了 SYN。\
                     对方的 SYN 到达时各自进入 SYN-RECEIVED 并回复 SYN,ACK，对方的 SYN,ACK 到达时进入 ESTABLISHED。"
                    .into(),
                Step::Data => format!("{who}发送 {len} 字节数据；seq 是其中第一个字节的序号。"),
                Step::Ack => format!("{who}确认 ack 之前的所有字节都已收到；本报文不携带数据。"),
                Step::Teardown(1) if len > 0 => format!(
                    "{who}在同一个报文里发出最后 {len} 字节数据并关闭自己这一方向：FIN=1，数据在前，FIN \
                     自己的序号是 u = seq + len。它进入 FIN-WAIT-1 等待确认。仍处于 ESTABLISHED 的一端，\
                     在 FIN 到达的那一刻就进入 CLOSE-WAIT。"
                ),
                Step::Teardown(1) => format!(
                    "{who}没有数据要发送了，关闭自己这一方向：FIN=1，seq=u，进入 FIN-WAIT-1 等待确认。\
                     仍处于 ESTABLISHED 的一端，在 FIN 到达的那一刻就进入 CLOSE-WAIT。"
                ),
                Step::Teardown(2) => format!(
                    "{who}确认收到 FIN（ack=u+1）。它从 FIN 到达起就处于 CLOSE-WAIT（Linux 的延迟确认\
                     定时器让单独的 ACK 晚发约 40 毫秒），此时仍可以继续发送数据；对方收到确认后进入 \
                     FIN-WAIT-2，等待它的 FIN。"
                ),
                Step::Teardown(3) => {
                    format!(
                        "{who}的数据也发送完了：FIN=1，seq=w，进入 LAST-ACK 等待最后的确认；\
                         这个 FIN 一到达，对方就进入 TIME-WAIT。"
                    )
                }
                Step::Teardown(_) => format!(
                    "{who}在 TIME-WAIT 中确认最后一个 FIN（ack=w+1）；对方收到这个 ACK 后立即关闭连接。"
                ),
                Step::TeardownMerged => format!(
                    "{who}已经没有数据要发送，ACK 和 FIN 合在一个报文里发出：挥手只用了三个报文，而不是四个。\
                     对方先处理 ACK、再处理 FIN：到达时依次经过 FIN-WAIT-1、FIN-WAIT-2 和 TIME-WAIT。"
                ),
                Step::SimultaneousClose => "同时关闭：双方都在收到对方的 FIN 之前发出了 FIN。\
                     对方的 FIN 到达时各自进入 CLOSING，自己的 FIN 被确认时进入 TIME-WAIT。"
                    .into(),
                Step::Reset => {
                    format!("{who}用 RST 中止连接：没有挥手，也没有 TIME-WAIT；尚未交付的数据被丢弃。")
                }
            }
        }
        Msg::NoteExplain { note, port, rule: tw_rule, until } => match note {
            Note::ClientGuessed => {
                "没有看到 SYN（抓包从连接中途开始）：哪一端是客户端，是根据端口号推测的。".into()
            }
            Note::ConnectionRefused => {
                format!("连接被拒绝：端口 {port} 上没有进程在监听，服务器的内核用 RST 回应了 SYN。")
            }
            Note::OldDuplicateSyn => "SYN 的发送方用 RST 回应了 SYN,ACK：它并没有在等待这个连接，\
                 那是一个已失效的旧 SYN（RFC 9293 图 8）。服务器随即释放这个半开连接。\
                 这正是第三次握手的作用：如果只有两次握手，服务器会一直保持连接，白白等待永远不会到来的数据。"
                .into(),
            Note::StraySyn => "客户端的任何连接都没有发送这个 SYN：它是早先连接留在网络中的旧的重复报文。\
                 客户端从未因它进入 SYN-SENT，后面它发出的 RST 说明了这一点。"
                .into(),
            Note::PortsReused => "在已经出现过的四元组上又出现了新的 SYN：这是同一对端口上的新连接。".into(),
            Note::RstIgnored => "RST 被忽略：接收方不接受这个 RST（RFC 9293 §3.10.7，RFC 5961 §3）。\
                 在 SYN-SENT 状态下，只有确认了 SYN 的 RST 才有效；此后只有序号落在接收方窗口内的 RST 才有效，\
                 而落在窗口内却不是下一个期望序号的 RST 会得到一个挑战 ACK 并被丢弃，因为接收方仍在继续发送。\
                 两端状态不变，后续报文也说明了这一点。伪造（注入）或过期的 RST 就是这个样子。"
                .into(),
            Note::ChallengeAck => "挑战 ACK（RFC 5961）：RST 的序号在窗口内，但不是下一个期望的序号；\
                 接收方要求对方证明，自己仍保持 ESTABLISHED。这个纯 ACK 给出它真正期望的序号：\
                 真正已经复位的对端会以恰好这个序号的 RST 回答，连接随之关闭；看不到它的盲目攻击者则做不到。"
                .into(),
            Note::RstChallenged => "RST 受到挑战：这个 RST 的序号在接收方窗口内，但不是它期望的下一个序号，\
                 所以接收方没有相信它：接收方保持连接并发出挑战 ACK（RFC 5961 §3.2）。发送方确实已经复位，\
                 它对挑战的回答说明了这一点：一个序号恰好等于被确认字节的 RST。所以发送方从这里起处于 CLOSED，\
                 接收方则保持原来的状态，直到第二个 RST 把它关闭。"
                .into(),
            Note::RstCrossed => "与 RST 交叉：这一端在对方的 RST 到达之前发出了这个报文，两者在途中交错而过。\
                 发出它时这一端仍然打开；RST 在它最后一个这样的报文之后到达，它随之关闭。\
                 对方已经没有这个连接：到达那里的报文会被丢弃（并以 RST 回答）。"
                .into(),
            Note::RstAnswer => "这是应答，不是中止：这一端已经处于 CLOSED（它已复位或关闭了连接），\
                 没有连接的一端对仍然到达的报文一律以 RST 回答（RFC 9293 §3.10.7.1），这里回答的是前一个报文。\
                 这个 RST 告诉对方连接已经不存在。"
                .into(),
            Note::FinInSynSent => "仍处于 SYN-SENT 状态的一端发出了 FIN：连接尚未建立，这并不是关闭。\
                 正常的协议栈不会这样做，端口扫描（或伪造的报文）才会。"
                .into(),
            Note::MergedClose => "三个报文而不是四个：被动关闭方把第二次和第三次挥手合并了。".into(),
            Note::HalfCloseData => {
                "半关闭：处于 CLOSE-WAIT 的一端仍在向处于 FIN-WAIT-2 的一端发送数据。".into()
            }
            Note::TimeWait(role) => format!(
                "TIME-WAIT 不会出现在线路上：{}（主动关闭方）要保持连接 {} 秒（{}），\
                 以便在最后的 ACK 丢失时重发，并让网络中残留的旧报文消失；将在 t={until:.6} 时结束。",
                side(role),
                tw_rule.secs(),
                rule(tw_rule)
            ),
            Note::SimultaneousClose => "同时关闭。".into(),
            Note::SimultaneousOpen => "同时打开。".into(),
            Note::Retransmission { of, after_us } => format!(
                "重传第 {of} 帧，相隔 {} 毫秒：这些字节之前已经发送过。确认没有及时回来，\
                 发送方的重传计时器（RTO）超时，于是再发一次；第一次的报文或它的 ACK 丢失或迟到了。",
                ms(after_us)
            ),
            Note::FastRetransmission { of } => format!(
                "快速重传第 {of} 帧：接收方用重复的 ACK 索要这些字节（后面的报文先到了），\
                 所以发送方立即重发，而不等重传计时器超时（RFC 5681：收到三个重复 ACK 之后）。"
            ),
            Note::SpuriousRetransmission => "虚假重传：对方早已确认过这些字节，这次重发并不需要；\
                 第一次的报文已经到达，只是它的 ACK 迟到或丢失了。"
                .into(),
            Note::OutOfOrder => "乱序：这个报文的序号低于已发送的最高序号，但它紧跟其后到达\
                 （不到一个往返时间），不像是重传：它在路上被后面的报文超过了。"
                .into(),
            Note::SynRetransmission { attempt, after_us } => format!(
                "再次发送 SYN（第 {attempt} 次），距上一次 {} 秒：没有收到回应。\
                 Linux 在第一次重发前等 1 秒，之后每次等待时间加倍（1、2、4、8……秒），\
                 最多重发 net.ipv4.tcp_syn_retries 次；设置了 net.ipv4.tcp_syn_linear_timeouts 的内核\
                 会先按 1 秒的间隔重发这么多次。",
                secs(after_us)
            ),
            Note::DupAck { of, count } => format!(
                "第 {of} 帧 ACK 的第 {count} 个重复 ACK：有报文越过空缺先到达，接收方于是再次确认同一个字节。\
                 每个重复 ACK 都在说“我还缺这个确认号处的字节”；收到三个之后，发送方不再等待，立即重发（快速重传）。"
            ),
            Note::HeaderCut => "首部被抓包长度截断：抓包只保留了这个 TCP 首部的一部分。端口、序号、确认号、\
                 标志位和窗口取自它固定的 20 个字节；超出保留部分的选项无从得知。"
                .into(),
            Note::PreviousSegmentNotCaptured => "前一个报文未被捕获：这个报文的起始序号超出了目前看到的字节，\
                 说明它之前的某个报文在抓包点之前丢失了，或者抓包时漏掉了。"
                .into(),
            Note::AckedUnseen => "确认了未见过的报文：这个 ACK 确认的字节从未出现在抓包中。\
                 接收方已经收到它们，所以它们确实发送过：是抓包漏掉了。"
                .into(),
            Note::ZeroWindow => "零窗口：这个报文的发送方接收缓冲区已满（应用程序没有读取），\
                 对方必须停止发送。"
                .into(),
            Note::ZeroWindowProbe => "零窗口探测：向已关闭的窗口发送一个很小的报文，询问窗口是否已经打开\
                 （RFC 9293 发送一个新字节；Linux 发送一个序号比下一个序号小一的空报文，Wireshark 把它称为保活）。\
                 只要窗口一直为零，发送方的坚持计时器就会不断发送探测，每次间隔更长。"
                .into(),
            Note::ZeroWindowProbeAck => "对零窗口探测的回应：窗口仍然为零，发送方继续等待。".into(),
            Note::WindowFull => "窗口已满：这个报文正好填满接收方通告的窗口；\
                 发送方现在必须等待 ACK 或窗口更新。"
                .into(),
            Note::WindowUpdate => "窗口更新：确认号不变，窗口变了。应用程序读走了数据，\
                 接收方告诉发送方现在可以再发送多少。"
                .into(),
            Note::KeepAlive => "保活：序号比下一个序号小一、没有新数据的报文，\
                 在长时间静默后发送，询问对方是否还在。"
                .into(),
            Note::KeepAliveAck => "对保活报文的回应：对方还在。".into(),
        },
        Msg::Transition { .. }
        | Msg::Payload { .. }
        | Msg::ConnHeader { .. }
        | Msg::SummaryOpened { .. }
        | Msg::SummaryClosed { .. }
        | Msg::SummaryTraffic { .. }
        | Msg::SummarySpan { .. }
        | Msg::SummaryFinal { .. }
        | Msg::SummaryTimeWait { .. }
        | Msg::SummaryZeek { .. } => {
            let mut text = String::new();
            write(&mut text, msg);
            text
        }
        Msg::ColumnHeader { state, arrow } => super::columns("#", "时间", "客户端", "服务器", state, arrow),
        Msg::FileHeader { path } => format!("抓包 {path}"),
        Msg::SummaryTitle => "汇总".into(),
        Msg::TableTitle { count, secs } => format!("目前的连接：{count} 个，t={secs:.1} 秒"),
        Msg::TableColumn(column) => match column {
            TableColumn::Client => "客户端",
            TableColumn::ClientState => "客户端状态",
            TableColumn::ServerState => "服务器状态",
            TableColumn::BytesC2s => "字节 客→服",
            TableColumn::BytesS2c => "字节 服→客",
            TableColumn::ConnState => "conn_state",
        }
        .into(),
        Msg::TableMore { count } => format!("……另有 {count} 个较早的连接未列出"),
        Msg::SummaryRetired => {
            "因空间不足而提前汇总：连接表已满时它仍未关闭，且最久没有活动；之后它发送的报文会显示为另一个连接".into()
        }
        Msg::CaptureStats { frames, segments, other, filtered, undecodable, connections, evicted, retired } => format!(
            "共 {frames} 帧：{connections} 个连接中的 {segments} 个 TCP 报文，跳过其他帧 {other} 个，无法解码 {undecodable} 个{}{}{}",
            if filtered > 0 { format!("，被过滤器排除 {filtered} 个") } else { String::new() },
            if evicted > 0 {
                format!("；为控制内存，提前汇总了 {evicted} 个无人应答的 SYN（SYN 洪泛？）")
            } else {
                String::new()
            },
            if retired > 0 {
                format!("；连接表（大小由 --max-memory 决定）已满，{retired} 个未关闭的连接因空间不足而提前汇总")
            } else {
                String::new()
            }
        ),
        Msg::Undecodable { frame, reason } => format!("第 {frame} 帧无法解码：{reason}"),
        Msg::MoreUndecodable { count } => format!("……另有 {count} 个无法解码的帧"),
        Msg::NotDecoded { count, kind } => format!("{kind} 中的 {count} 帧：未解码（计入其他帧）"),
        Msg::Truncated { path, reason } => {
            format!("警告：{path} 不完整（{reason}）；此前所有完整的帧都已显示")
        }
        Msg::KernelListed { side: role, local, remote, table } => format!(
            "内核证实了这一点：{table} 中 {local} → {remote} 处于 TIME-WAIT（本系统的套接字表不显示计时器：不论 --time-wait 如何设置，{}都要等系统自己的 TIME-WAIT 结束才释放）。",
            side(role)
        ),
        Msg::NoKernelView => "本系统无法查看内核的套接字表：TIME-WAIT 只能从线路上的报文推断".into(),
        Msg::KernelFeed { sampled: false } => {
            "--kernel：从 sock:inet_sock_set_state 跟踪点读取内核的 TCP 状态变化（私有的 tracefs 实例，退出时删除）".into()
        }
        Msg::KernelFeed { sampled: true } => {
            "--kernel：每 5 毫秒采样一次内核的套接字表（sock_diag），停留时间更短的状态可能看不到".into()
        }
        Msg::NoKernelFeed { why } => format!("--kernel：这里读不到内核的状态变化：{why}；抓包照常进行"),
        Msg::KernelState { side: role, from, to, after } => match after {
            Some((frame, ms)) => format!("内核：{} {from} → {to}，在第\u{a0}{frame}\u{a0}帧之后 {ms:.3} 毫秒", side(role)),
            None => format!("内核：{} {from} → {to}，在它的第一个报文段之前", side(role)),
        },
        Msg::KernelDiffers { why, side: role, shown_at } => match why {
            Differs::RequestSocket => format!(
                "tcplab 显示{}处于 {shown_at}：从 SYN 到达起它就是 SYN-RECEIVED，但 Linux 在第三次握手之前只保留一个请求套接字，不作跟踪，所以内核直到现在才报告 SYN-RECEIVED。",
                side(role)
            ),
            Differs::TimeWaitSocket => format!(
                "tcplab 显示{}处于 TIME-WAIT：Linux 用一个小的 timewait 套接字取代原来的套接字，并把原套接字报告为进入 CLOSED。",
                side(role)
            ),
            Differs::NotOnWire => format!(
                "tcplab 此时显示{}处于 {shown_at}：抓到的报文（还）没有显示这个变化。",
                side(role)
            ),
        },
        Msg::KernelTimeWait { side: role, local, remote, left } => match left {
            Some(secs) => format!(
                "内核证实了这一点：{} 中 {local} → {remote} 处于 TIME-WAIT，{}还要等待 {secs:.1} 秒才释放（不论 --time-wait 如何设置，Linux 自己的计时器都是 60 秒）。",
                proc_table(local),
                side(role)
            ),
            None => format!(
                "本机内核没有列出处于 TIME-WAIT 的 {local} → {remote}（{}在另一台主机上，或计时器已经到期）。",
                side(role)
            ),
        },
        Msg::Listening { device, link, why } => match why {
            DeviceChoice::Asked => format!("正在 {device} 上抓包，链路类型 {link}"),
            DeviceChoice::LoopbackOnly { port, addr } => {
                format!("正在 {device} 上抓包（端口 {port} 只在 {addr} 上提供服务，流量走回环网卡），链路类型 {link}")
            }
            DeviceChoice::ServedEverywhere { port, addr } => format!(
                "正在 {device} 上抓包（端口 {port} 在 {} 上提供服务：客户端可能从任何网卡连进来，所以抓所有网卡），链路类型 {link}",
                served_on(addr)
            ),
            DeviceChoice::ServedOnDevice { port, addr } => {
                format!("正在 {device} 上抓包（端口 {port} 在 {addr} 上提供服务，这是 {device} 的地址），链路类型 {link}")
            }
            DeviceChoice::ServedDefault { port } => format!(
                "正在 {device} 上抓包（端口 {port} 在所有地址上提供服务；这是 libpcap 的默认网卡：本机上的客户端要用 -i 指定回环网卡才能看到），链路类型 {link}"
            ),
            DeviceChoice::LanServer => {
                format!("正在 {device} 上抓包（实验局域网 10.77.0.0/24 上服务器的网卡），链路类型 {link}")
            }
            DeviceChoice::NotServedYet { port } => format!(
                "正在 {device} 上抓包（本机的端口 {port} 还没有程序监听：抓所有网卡，之后启动的服务器也能看到），链路类型 {link}"
            ),
            DeviceChoice::AnyInterface => {
                format!("正在 {device} 上抓包（所有网卡；可用 -i 指定），链路类型 {link}")
            }
            DeviceChoice::DefaultInterface => {
                format!("正在 {device} 上抓包（libpcap 的默认网卡；可用 -i 另选），链路类型 {link}")
            }
        },
        Msg::LiveStats { captured, received, dropped_by_kernel, dropped_by_interface, loopback } => format!(
            "抓到 {captured} 个包，过滤器收到 {received} 个，内核丢弃 {dropped_by_kernel} 个，网卡丢弃 {dropped_by_interface} 个{}",
            if loopback { "（在回环网卡上，每个包离开和到达时各经过一次内核过滤器）" } else { "" }
        ),
        Msg::KernelDropped { count } => {
            format!("内核丢弃了 {count} 个包：它们来得比 tcplab 读取得快，显示和 -w 保存的文件中都没有它们")
        }
        Msg::PrivateNetwork => {
            "当前不是 root：在一个私有的网络命名空间中运行（有自己的回环网卡，可以抓包）".into()
        }
        Msg::OwnNetwork => {
            "这个实验用 nftables 丢弃报文，所以在自己专用的网络命名空间中运行；进程结束时它随之消失，主机的网络不受影响".into()
        }
        Msg::LanBuilt { students } => format!(
            "局域网运行在本进程的网络命名空间里：服务器主机（10.77.0.1）和 {students} 台学生主机（从 10.77.0.11 起），用 veth 对和网桥连接；进程结束时随之消失，主机的网络不受影响"
        ),
        Msg::DemoIntro { server } => format!(
            "演示：{server} 上的聊天服务器，一个说两句话后挂断的客户端，以及它们发送的全部报文（在回环网卡上实时抓取）"
        ),
        Msg::LabIntro { scenario, about } => format!("实验 {scenario}：{about}"),
        Msg::Saved { path, packets } => format!("已将 {packets} 个包保存到 {path}"),
        Msg::Progress { frames, connections, per_sec } => {
            format!("{frames} 个包 · {connections} 个连接 · 每秒 {per_sec:.0} 个")
        }
        Msg::ScenarioNeeds(needs) => format!(
            "[本系统不支持：需要{}]",
            match needs {
                crate::lab::Needs::DroppedPackets => "在独立网络命名空间中用 nftables 丢弃报文（仅 Linux）",
                crate::lab::Needs::LossyLink => "用 TAP 设备连接的两个网络命名空间（仅 Linux）",
                crate::lab::Needs::ProbeCount => "Linux 的 TCP_INFO 来计数零窗口探测",
                crate::lab::Needs::RawSocket => "原始 TCP 套接字（Windows 不允许）",
                crate::lab::Needs::Lan => "用 veth 对和网桥连接的网络命名空间（仅 Linux）",
            }
        ),
        Msg::ScenarioAbout(scenario) => match scenario {
            crate::lab::Scenario::Handshake => "建立连接、双向聊天、客户端关闭：教材中的三次握手与四次挥手",
            crate::lab::Scenario::ServerCloses => "服务器先关闭，因此由服务器进入 TIME-WAIT",
            crate::lab::Scenario::FourWay => {
                "被动关闭方等待一会儿再发 FIN：四个独立的报文，可以看到 CLOSE-WAIT"
            }
            crate::lab::Scenario::MergedClose => "被动关闭方立即关闭：ACK 和 FIN 合在一个报文里（三个报文）",
            crate::lab::Scenario::HalfClose => "客户端不再发送；服务器在 CLOSE-WAIT 中继续发送，然后关闭",
            crate::lab::Scenario::Refused => "连接一个没有进程监听的端口：SYN 被 RST 回应",
            crate::lab::Scenario::StaleSyn => "一个已失效的旧 SYN 到达服务器并被复位，随后真正的连接才建立：这就是需要三次握手的原因",
            crate::lab::Scenario::Abort => "用 SO_LINGER 0 关闭：用 RST 代替挥手，没有 TIME-WAIT",
            crate::lab::Scenario::SimultaneousOpen => {
                "两个套接字同时互相连接：双方的 SYN 在途中交错，两端都经过 SYN-RECEIVED"
            }
            crate::lab::Scenario::SimultaneousClose => {
                "两端同时关闭：双方的 FIN 在途中交错，两端都经过 CLOSING 进入 TIME-WAIT"
            }
            crate::lab::Scenario::SynRetry => {
                "最初的几个 SYN 丢失：客户端重发 SYN，每次等待的时间加倍"
            }
            crate::lab::Scenario::ZeroWindow => {
                "服务器不再读取：它的窗口缩小到零，客户端发送零窗口探测，窗口更新后重新打开"
            }
            crate::lab::Scenario::Lossy => {
                "经过一条有延迟、会丢失并打乱指定报文段的链路上传数据：重复 ACK、快速重传、超时重传、乱序到达"
            }
            crate::lab::Scenario::Lan => {
                "一个教室局域网：聊天服务器在一个网络命名空间里监听 0.0.0.0，学生各在自己的命名空间里，用 veth 对和网桥连起来（以太网、ARP）；学生依次聊天"
            }
        }
        .into(),
        Msg::StopHint => "按 Ctrl-C 停止".into(),
        Msg::PageAt { url } => format!("网页地址：{url}"),
        Msg::PageBeyondLoopback { bound } => {
            format!("警告：网页在 {bound} 上提供，本机以外也能访问：任何拿到网址（含令牌）的人都能看到这些流量")
        }
        Msg::PageStillServing { url } => format!("网页仍在 {url} 提供（按 Ctrl-C 停止）"),
        Msg::PageCannotBind { addr, reason } => {
            format!("无法在 {addr} 上提供网页（{reason}）；请用 --serve=ADDR:PORT 换一个地址")
        }
        Msg::LadderTimeWait { rule: tw_rule, until } => {
            format!("TIME-WAIT {} 秒（{}），线路上没有报文；t={until:.3} 时 CLOSED", tw_rule.secs(), rule(tw_rule))
        }
        Msg::FieldName(field) => match field {
            HeaderField::SourcePort => "源端口",
            HeaderField::DestinationPort => "目的端口",
            HeaderField::Sequence => "序号",
            HeaderField::Acknowledgment => "确认号",
            HeaderField::DataOffset => "数据偏移",
            HeaderField::Reserved => "保留",
            HeaderField::Flags => "标志位",
            HeaderField::Window => "窗口",
            HeaderField::Checksum => "检验和",
            HeaderField::UrgentPointer => "紧急指针",
            HeaderField::Options => "选项",
            HeaderField::Data => "数据",
        }
        .into(),
        Msg::FieldExplain(field) => match field {
            HeaderField::SourcePort => "发送方应用程序的端口；它和地址一起确定这个连接。",
            HeaderField::DestinationPort => "接收方应用程序的端口（服务器的知名端口或指定端口）。",
            HeaderField::Sequence => "本报文段第一个数据字节的序号；在 SYN 中它就是初始序号（ISN），数据从 ISN+1 开始。",
            HeaderField::Acknowledgment => "期望收到对方的下一个字节的序号，表示此前的数据都已收到；只有 ACK=1 时才有效。",
            HeaderField::DataOffset => "首部长度，以 4 字节为单位（5 到 15）：指出数据从哪里开始。",
            HeaderField::Reserved => "保留给将来使用，置为 0。",
            HeaderField::Flags => "控制位：URG、ACK、PSH、RST、SYN、FIN（以及用于拥塞通知的 CWR、ECE）。",
            HeaderField::Window => "本报文段的发送方还能接收多少字节（流量控制）；若在 SYN 中协商了窗口扩大，要乘以 2 的移位次方。",
            HeaderField::Checksum => "覆盖首部、数据和由 IP 地址组成的伪首部；在回环网卡上或启用校验和卸载时常由硬件填写，抓包中可能显示为错误。",
            HeaderField::UrgentPointer => "紧急数据的结束位置；只有 URG=1 时才有意义。",
            HeaderField::Options => "在 SYN 中协商、之后携带的扩展：MSS、窗口扩大、SACK、时间戳；填充到 4 字节的整数倍。",
            HeaderField::Data => "应用程序的数据；TCP 为其中每一个字节编号。",
        }
        .into(),
        Msg::FlagExplain(flag) => match flag {
            "CWR" => "拥塞窗口已减小（对 ECE 的回应）",
            "ECE" => "ECN 回显：路径上出现了拥塞",
            "URG" => "紧急指针有效",
            "ACK" => "确认号有效（第一个 SYN 之后的每个报文都置 1）",
            "PSH" => "尽快把数据交给应用程序",
            "RST" => "复位：中止连接",
            "SYN" => "同步序号：请求建立连接",
            "FIN" => "发送方的数据已发完：关闭这个方向",
            _ => "未知标志",
        }
        .into(),
        Msg::InspectTitle { frame, src, dst, wire_len, captured, step, label } => format!(
            "第 {frame} 帧：{src} → {dst}，线路上 {wire_len} 字节（抓到 {captured} 字节）· {} · {label}",
            text(&Msg::StepName(step))
        ),
        Msg::IpFacts(ref facts) => match *facts {
            crate::decode::anatomy::IpFacts::V4 { ttl, total_len, header_len, dont_fragment, id } => format!(
                "IPv4：TTL {ttl}，总长度 {total_len} 字节，首部 {header_len} 字节，标识 0x{id:04x}，{}",
                if dont_fragment { "DF=1（不分片）" } else { "DF=0" }
            ),
            crate::decode::anatomy::IpFacts::V6 { hop_limit, payload_len, flow_label } => {
                format!("IPv6：跳数限制 {hop_limit}，有效载荷长度 {payload_len} 字节，流标签 0x{flow_label:05x}")
            }
        },
        Msg::RelativeValue { raw, rel } => match rel {
            Some(rel) => format!("{raw}（相对值 {rel}）"),
            None => raw.to_string(),
        },
        Msg::AckNotValid { raw } => format!("{raw}（无效：ACK=0）"),
        Msg::DataOffsetValue { words } => format!("{words} 个 4 字节 = {} 字节", u32::from(words) * 4),
        Msg::WindowValue { raw, scaled } => match scaled {
            Some((bytes, shift)) => format!("{raw} × 2^{shift} = {bytes} 字节"),
            None => format!("{raw} 字节"),
        },
        Msg::HexTitle { start, end } => format!("帧的字节；TCP 首部是第 {start}–{} 字节", end - 1),
        Msg::OptionsMalformed => "格式错误的选项".into(),
        Msg::StepPrompt => "[回车：下一个报文，q：停止] ".into(),
        Msg::SvgNoCjkFont => "没有找到中文字体（文泉驿微米黑或 Noto Sans CJK，也可用 TCPLAB_CJK_FONT=字体文件 指定）：\
             SVG 中的中文仍是文字，在没有安装中文字体的电脑上会显示为方框"
            .into(),
        Msg::StepKeys => "[空格/回车/→：下一个 · ←：上一个 · q：退出 · Ctrl-C：摘要] ".into(),
        Msg::QuizAsk { frame, flags, from, side: role } => {
            format!("第 {frame} 帧：{}发送 [{flags}]。之后{}处于什么状态？", side(from), side(role))
        }
        Msg::QuizVerdict { correct, expected } => {
            if correct { format!("正确：{expected}") } else { format!("不对，应该是 {expected}") }
        }
        Msg::QuizScore { right, asked } => format!("测验：{asked} 题答对 {right} 题"),
        Msg::TimeWaitExpired { side: role, ts } => {
            format!("t={ts:.3} 时{}的 TIME-WAIT 计时器到期，内核释放了这个连接：TIME-WAIT → CLOSED，即图 2 的最后一步。", side(role))
        }
        Msg::QuizIntro => "测验：每个报文出现之前，说出它之后两端各自的状态（例如 SYN-SENT）。\
             一端在报文到达时就改变状态，而不是在回应时：正在监听的一端一收到 SYN 就进入 SYN-RECEIVED，\
             不必等它发出 SYN-ACK。"
            .into(),
        Msg::NoteShort { note, until } => match note {
            Note::ClientGuessed => "客户端为推测（未看到 SYN）".into(),
            Note::ConnectionRefused => "连接被拒绝".into(),
            Note::OldDuplicateSyn => "旧的重复 SYN，已被复位".into(),
            Note::StraySyn => "游离报文：客户端的任何连接都没有发送它".into(),
            Note::PortsReused => "端口复用：新的连接".into(),
            Note::RstIgnored => "RST 被忽略：接收方不接受它".into(),
            Note::ChallengeAck => "挑战 ACK：RST 的序号不是下一个期望的序号".into(),
            Note::RstChallenged => "RST 受到挑战：发送方确已复位，接收方要求证明".into(),
            Note::RstCrossed => "与对方的 RST 交叉：在它到达之前发出".into(),
            Note::RstAnswer => "没有连接的一端的应答，不是中止".into(),
            Note::FinInSynSent => "SYN-SENT 状态下的 FIN：没有可关闭的连接".into(),
            Note::MergedClose => "ACK 与 FIN 合并".into(),
            Note::HalfCloseData => "半关闭：CLOSE-WAIT 中发送的数据".into(),
            Note::TimeWait(role) => format!("{}进入 TIME-WAIT（不在线路上），直到 t={until:.6}", side(role)),
            Note::SimultaneousClose => "同时关闭".into(),
            Note::SimultaneousOpen => "同时打开".into(),
            Note::Retransmission { of, after_us } => format!("重传第 {of} 帧，相隔 {} 毫秒", ms(after_us)),
            Note::FastRetransmission { of } => format!("快速重传第 {of} 帧"),
            Note::SpuriousRetransmission => "虚假重传：早已被确认".into(),
            Note::OutOfOrder => "乱序".into(),
            Note::SynRetransmission { attempt, after_us } => {
                format!("第 {attempt} 次 SYN，距上一次 {} 秒", secs(after_us))
            }
            Note::DupAck { of, count } => format!("第 {of} 帧 ACK 的第 {count} 个重复 ACK"),
            Note::PreviousSegmentNotCaptured => "前一个报文未被捕获".into(),
            Note::HeaderCut => "首部被抓包长度截断".into(),
            Note::AckedUnseen => "确认了未见过的报文".into(),
            Note::ZeroWindow => "零窗口".into(),
            Note::ZeroWindowProbe => "零窗口探测".into(),
            Note::ZeroWindowProbeAck => "零窗口探测的回应：仍为零".into(),
            Note::WindowFull => "窗口已满".into(),
            Note::WindowUpdate => "窗口更新".into(),
            Note::KeepAlive => "保活".into(),
            Note::KeepAliveAck => "保活的回应".into(),
        },
    }
}
