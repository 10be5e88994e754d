//! [`IdMap`]: the replica table and the two-way mapping between [`OpId`]s and local versions.

use crate::id::{Agent, Lv, OpId, ReplicaId};
use crate::seq::tree::LvInfo;

/// Consecutive local versions `lv..lv+len` that are sequence numbers `seq..seq+len` of `agent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdRun {
    pub(crate) lv: Lv,
    pub(crate) agent: Agent,
    pub(crate) seq: u32,
    pub(crate) len: u32,
}

/// One replica known to this document.
#[derive(Clone, Debug)]
pub(crate) struct AgentInfo {
    pub(crate) replica: ReplicaId,
    /// `(seq, lv, len)` runs in sequence order.
    runs: Vec<(u32, Lv, u32)>,
    /// Operations seen (the next expected sequence number).
    pub(crate) next_seq: u32,
    /// Deletions seen (the next expected deletion sequence number).
    pub(crate) next_del: u32,
}

/// Replicas and the id ↔ local version mapping of one document.
#[derive(Clone, Debug, Default)]
pub(crate) struct IdMap {
    pub(crate) agents: Vec<AgentInfo>,
    /// Every agent by replica id, in replica-id order (the canonical order of encodings and
    /// state vectors), kept sorted as agents are added so that nothing needs sorting; lookups
    /// are binary searches.
    by_replica: Vec<(ReplicaId, Agent)>,
    /// Runs in local-version order.
    runs: Vec<IdRun>,
    next_lv: Lv,
}

impl IdMap {
    /// The agent index of `replica`, adding it when new.
    pub(crate) fn agent(&mut self, replica: ReplicaId) -> Agent {
        let at = match self.by_replica.binary_search_by_key(&replica, |(r, _)| *r) {
            Ok(i) => return self.by_replica[i].1,
            Err(at) => at,
        };
        let a = self.agents.len() as Agent;
        self.agents.push(AgentInfo {
            replica,
            runs: Vec::new(),
            next_seq: 0,
            next_del: 0,
        });
        self.by_replica.insert(at, (replica, a));
        a
    }

    /// The agent index of `replica`, if known.
    pub(crate) fn find_agent(&self, replica: ReplicaId) -> Option<Agent> {
        self.by_replica
            .binary_search_by_key(&replica, |(r, _)| *r)
            .ok()
            .map(|i| self.by_replica[i].1)
    }

    /// Agents with their info, in replica-id order (the canonical order of encodings).
    pub(crate) fn agents_by_replica(&self) -> Vec<(usize, &AgentInfo)> {
        self.agents_in_replica_order().collect()
    }

    /// [`IdMap::agents_by_replica`] without collecting.
    pub(crate) fn agents_in_replica_order(&self) -> impl Iterator<Item = (usize, &AgentInfo)> {
        self.by_replica
            .iter()
            .filter_map(|&(_, a)| self.agents.get(a as usize).map(|info| (a as usize, info)))
    }

    /// The replica of `agent`.
    pub(crate) fn replica(&self, agent: Agent) -> ReplicaId {
        self.agents
            .get(agent as usize)
            .map(|a| a.replica)
            .unwrap_or_default()
    }

    /// The next local version to be assigned.
    pub(crate) fn next_lv(&self) -> Lv {
        self.next_lv
    }

    /// Assigns local versions to the next `len` operations of `agent` (which must continue its
    /// clock). Returns the first.
    #[inline]
    pub(crate) fn assign(&mut self, agent: Agent, len: u32) -> Lv {
        let lv = self.next_lv;
        self.next_lv += len;
        let info = &mut self.agents[agent as usize];
        let seq = info.next_seq;
        info.next_seq += len;
        if let Some(r) = self.runs.last_mut()
            && r.agent == agent
            && r.seq + r.len == seq
            && r.lv + r.len == lv
        {
            // Typing on: the last run is the agent's last run too (an agent's sequence numbers
            // are assigned in order), and both grow.
            r.len += len;
            if let Some((s, l, n)) = info.runs.last_mut() {
                debug_assert!(*s + *n == seq && *l + *n == lv);
                *n += len;
            }
            return lv;
        }
        match info.runs.last_mut() {
            Some((s, l, n)) if *s + *n == seq && *l + *n == lv => *n += len,
            _ => info.runs.push((seq, lv, len)),
        }
        self.runs.push(IdRun {
            lv,
            agent,
            seq,
            len,
        });
        lv
    }

    /// The run holding `lv`.
    pub(crate) fn run_of(&self, lv: Lv) -> Option<IdRun> {
        let i = self.runs.partition_point(|r| r.lv + r.len <= lv);
        self.runs.get(i).copied().filter(|r| r.lv <= lv)
    }

    /// `(agent, seq)` of `lv`.
    pub(crate) fn id_of(&self, lv: Lv) -> Option<(Agent, u32)> {
        self.run_of(lv).map(|r| (r.agent, r.seq + (lv - r.lv)))
    }

    /// The public id of `lv`.
    pub(crate) fn op_id(&self, lv: Lv) -> Option<OpId> {
        self.id_of(lv)
            .map(|(a, s)| OpId::new(self.replica(a), u64::from(s)))
    }

    /// The local version of `seq` of `agent`, if seen.
    pub(crate) fn lv_of(&self, agent: Agent, seq: u32) -> Option<Lv> {
        let runs = &self.agents.get(agent as usize)?.runs;
        let i = runs.partition_point(|(s, _, n)| s + n <= seq);
        runs.get(i)
            .filter(|(s, _, _)| *s <= seq)
            .map(|(s, l, _)| l + (seq - s))
    }

    /// Longest stretch from `seq` of `agent` with consecutive local versions: `(lv, len)`.
    pub(crate) fn lv_span(&self, agent: Agent, seq: u32, max: u32) -> Option<(Lv, u32)> {
        let runs = &self.agents.get(agent as usize)?.runs;
        let i = runs.partition_point(|(s, _, n)| s + n <= seq);
        let (s, l, n) = *runs.get(i).filter(|(s, _, _)| *s <= seq)?;
        Some((l + (seq - s), (s + n - seq).min(max)))
    }

    /// The local version of a public id, if seen.
    pub(crate) fn lv_of_id(&self, id: OpId) -> Option<Lv> {
        let agent = self.find_agent(id.replica)?;
        self.lv_of(agent, u32::try_from(id.seq).ok()?)
    }
}

impl LvInfo for IdMap {
    fn replica_of(&self, lv: Lv) -> ReplicaId {
        self.run_of(lv)
            .map(|r| self.replica(r.agent))
            .unwrap_or_default()
    }

    fn contiguous(&self, a: Lv, b: Lv) -> bool {
        if b != a.wrapping_add(1) {
            return false;
        }
        if let Some(last) = self.runs.last()
            && a >= last.lv
        {
            return b < last.lv + last.len;
        }
        self.run_of(a).is_some_and(|r| b < r.lv + r.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_both_ways() {
        let mut m = IdMap::default();
        let a = m.agent(ReplicaId(10));
        let b = m.agent(ReplicaId(20));
        assert_eq!(m.assign(a, 3), 0);
        assert_eq!(m.assign(b, 2), 3);
        assert_eq!(m.assign(a, 1), 5);
        assert_eq!(m.id_of(4), Some((b, 1)));
        assert_eq!(m.id_of(5), Some((a, 3)));
        assert_eq!(m.lv_of(a, 3), Some(5));
        assert_eq!(m.lv_of(a, 4), None);
        assert!(m.contiguous(0, 1));
        assert!(!m.contiguous(2, 3));
        assert_eq!(m.replica_of(3), ReplicaId(20));
        assert_eq!(m.lv_span(a, 1, 10), Some((1, 2)));
    }
}
