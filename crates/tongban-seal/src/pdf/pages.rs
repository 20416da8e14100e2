//! The document's catalog and page tree (ISO 32000-1 §7.7.2, §7.7.3): which page a
//! seal goes on, and the media box it inherits.

use std::collections::HashSet;

use lopdf::{Dictionary, Object, ObjectId};

use super::lexer::{Malformed, malformed};
use super::reader::Reader;

impl Reader<'_> {
    /// The document catalog.
    pub fn catalog(&self) -> Result<(ObjectId, Dictionary), Malformed> {
        let Ok(Object::Reference(root)) = self.trailer().get(b"Root") else {
            return malformed("the trailer names no catalog");
        };
        Ok((*root, self.dictionary(&Object::Reference(*root))?))
    }

    /// Page `number` (from 1): its id, its dictionary, and its /MediaBox (its own or
    /// inherited from the page tree), or `None` if there is no such page.
    pub fn page(
        &self,
        number: u32,
    ) -> Result<Option<(ObjectId, Dictionary, Option<Object>)>, Malformed> {
        let (_, catalog) = self.catalog()?;
        let Ok(Object::Reference(tree)) = catalog.get(b"Pages") else {
            return malformed("the catalog has no page tree");
        };
        let mut node = *tree;
        let Some(mut remaining) = number.checked_sub(1) else {
            return Ok(None);
        };
        let mut media_box = None;
        let mut visited = HashSet::new();
        loop {
            if !visited.insert(node) || visited.len() > 100_000 {
                return malformed("the page tree has a loop");
            }
            let dict = self.dictionary(&Object::Reference(node))?;
            if let Ok(own) = dict.get(b"MediaBox") {
                media_box = Some(self.resolve(own)?);
            }
            let Ok(kids) = dict.get(b"Kids") else {
                // A leaf: a page.
                return Ok((remaining == 0).then_some((node, dict, media_box)));
            };
            let Object::Array(kids) = self.resolve(kids)? else {
                return malformed("a page tree node's /Kids is not an array");
            };
            let mut chosen = None;
            for kid in kids {
                let Object::Reference(kid) = kid else {
                    return malformed("a page tree node's kid is not a reference");
                };
                let kid_dict = self.dictionary(&Object::Reference(kid))?;
                let count = if kid_dict.has(b"Kids") {
                    match self.resolve(kid_dict.get(b"Count").unwrap_or(&Object::Null))? {
                        Object::Integer(count) => u32::try_from(count).unwrap_or(0),
                        _ => return malformed("a page tree node has no /Count"),
                    }
                } else {
                    1
                };
                if remaining < count {
                    chosen = Some(kid);
                    break;
                }
                remaining -= count;
            }
            match chosen {
                Some(kid) => node = kid,
                None => return Ok(None),
            }
        }
    }

    /// The ids of the first `limit` pages, in order, from one walk of the page tree.
    pub fn page_ids(&self, limit: usize) -> Result<Vec<ObjectId>, Malformed> {
        let (_, catalog) = self.catalog()?;
        let Ok(Object::Reference(tree)) = catalog.get(b"Pages") else {
            return malformed("the catalog has no page tree");
        };
        let mut pages = Vec::new();
        let mut stack = vec![*tree];
        let mut visited = HashSet::new();
        while let Some(node) = stack.pop() {
            if pages.len() == limit {
                break;
            }
            if !visited.insert(node) || visited.len() > 100_000 {
                return malformed("the page tree has a loop");
            }
            let dict = self.dictionary(&Object::Reference(node))?;
            let Ok(kids) = dict.get(b"Kids") else {
                pages.push(node);
                continue;
            };
            let Object::Array(kids) = self.resolve(kids)? else {
                return malformed("a page tree node's /Kids is not an array");
            };
            for kid in kids.iter().rev() {
                let Object::Reference(kid) = kid else {
                    return malformed("a page tree node's kid is not a reference");
                };
                stack.push(*kid);
            }
        }
        Ok(pages)
    }
}
