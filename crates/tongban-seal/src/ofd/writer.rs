//! A writer for the OFD documents the platform renders: pages of text and filled or
//! stroked paths, in millimetres from the page's top left corner. Text names one font
//! the readers supply (宋体), so nothing is embedded, as in the PDF renditions.

use super::package::Package;
use super::xml::{escape, number};
use super::{NAMESPACE, structure};

const HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// The font every text uses, by the name readers look it up by.
const FONT: &str = "宋体";

/// The one font's ID; objects count up from the next.
const FONT_ID: u64 = 1;

/// A colour, RGB.
pub type Rgb = [u8; 3];

/// How a path is painted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Paint {
    /// Filled.
    Fill(Rgb),
    /// Stroked, a line of this width (mm).
    Stroke(Rgb, f64),
}

/// A new document of pages of one size.
pub struct Writer {
    title: String,
    size: (f64, f64),
    pages: Vec<String>,
    last_id: u64,
}

/// Width of `text` at `size`: CJK full width, ASCII half width.
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 0.5 } else { 1.0 })
        .sum::<f64>()
        * size
}

impl Writer {
    /// A document titled `title` whose pages are `size` (width, height in mm).
    pub fn new(title: &str, size: (f64, f64)) -> Self {
        Self {
            title: title.to_owned(),
            size,
            pages: Vec::new(),
            last_id: FONT_ID,
        }
    }

    fn id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    /// Adds a page; objects go to the last page added.
    pub fn page(&mut self) {
        self.pages.push(String::new());
    }

    fn push(&mut self, object: String) {
        if self.pages.is_empty() {
            self.page();
        }
        if let Some(page) = self.pages.last_mut() {
            page.push_str(&object);
        }
    }

    /// `text` of `size` (mm) with its baseline starting at (`x`, `y`).
    pub fn text(&mut self, x: f64, y: f64, size: f64, text: &str) {
        // Readers trim text content; the advances are given for every gap.
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let advances: Vec<String> = text
            .chars()
            .take(text.chars().count().saturating_sub(1))
            .map(|c| number(text_width(&c.to_string(), size)))
            .collect();
        let width = text_width(text, size).max(size);
        let id = self.id();
        let boundary = [x, y - size, width, size * 1.25].map(number).join(" ");
        let delta = if advances.is_empty() {
            String::new()
        } else {
            format!(" DeltaX=\"{}\"", advances.join(" "))
        };
        self.push(format!(
            "<ofd:TextObject ID=\"{id}\" Boundary=\"{boundary}\" Font=\"{FONT_ID}\" Size=\"{}\">\
             <ofd:TextCode X=\"0\" Y=\"{}\"{delta}>{}</ofd:TextCode></ofd:TextObject>",
            number(size),
            number(size),
            escape(text)
        ));
    }

    /// Rectangles `[x, y, w, h]` inside `boundary`, as one path painted `paint`.
    pub fn rects(&mut self, boundary: [f64; 4], rects: &[[f64; 4]], paint: Paint) {
        let mut data = String::new();
        for [x, y, w, h] in rects {
            let (right, bottom) = (x + w, y + h);
            let [x, y, right, bottom] = [*x, *y, right, bottom].map(number);
            data.push_str(&format!(
                "M {x} {y} L {right} {y} L {right} {bottom} L {x} {bottom} C "
            ));
        }
        let id = self.id();
        let (paint_attributes, colour) = match paint {
            Paint::Fill([r, g, b]) => (
                "Fill=\"true\" Stroke=\"false\"".to_owned(),
                format!("<ofd:FillColor Value=\"{r} {g} {b}\"/>"),
            ),
            Paint::Stroke([r, g, b], width) => (
                format!(
                    "Stroke=\"true\" Fill=\"false\" LineWidth=\"{}\"",
                    number(width)
                ),
                format!("<ofd:StrokeColor Value=\"{r} {g} {b}\"/>"),
            ),
        };
        self.push(format!(
            "<ofd:PathObject ID=\"{id}\" Boundary=\"{}\" {paint_attributes}>{colour}\
             <ofd:AbbreviatedData>{}</ofd:AbbreviatedData></ofd:PathObject>",
            boundary.map(number).join(" "),
            data.trim_end()
        ));
    }

    /// The package: `OFD.xml`, `Doc_0/Document.xml`, `Doc_0/PublicRes.xml` and a
    /// content file per page; `doc_id` names the document (`DocID`), `created` is its
    /// creation date (`YYYY-MM-DD`).
    pub fn finish(mut self, doc_id: &str, created: &str) -> Package {
        if self.pages.is_empty() {
            self.page();
        }
        let mut package = Package::new();
        package.put(
            structure::ENTRY,
            format!(
                "{HEADER}<ofd:OFD xmlns:ofd=\"{NAMESPACE}\" Version=\"1.0\" DocType=\"OFD\">\
                 <ofd:DocBody><ofd:DocInfo><ofd:DocID>{}</ofd:DocID><ofd:Title>{}</ofd:Title>\
                 <ofd:CreationDate>{}</ofd:CreationDate><ofd:Creator>Tongban</ofd:Creator>\
                 </ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
                escape(doc_id),
                escape(&self.title),
                escape(created)
            )
            .into_bytes(),
        );
        let mut page_list = String::new();
        let mut contents = Vec::new();
        for (index, objects) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            let (page_id, layer_id) = (self.id(), self.id());
            page_list.push_str(&format!(
                "<ofd:Page ID=\"{page_id}\" BaseLoc=\"Pages/Page_{index}/Content.xml\"/>"
            ));
            contents.push((
                format!("Doc_0/Pages/Page_{index}/Content.xml"),
                format!(
                    "{HEADER}<ofd:Page xmlns:ofd=\"{NAMESPACE}\"><ofd:Content>\
                     <ofd:Layer ID=\"{layer_id}\" Type=\"Body\">{objects}</ofd:Layer>\
                     </ofd:Content></ofd:Page>"
                ),
            ));
        }
        let (width, height) = (number(self.size.0), number(self.size.1));
        package.put(
            "Doc_0/Document.xml",
            format!(
                "{HEADER}<ofd:Document xmlns:ofd=\"{NAMESPACE}\"><ofd:CommonData>\
                 <ofd:MaxUnitID>{}</ofd:MaxUnitID><ofd:PageArea>\
                 <ofd:PhysicalBox>0 0 {width} {height}</ofd:PhysicalBox></ofd:PageArea>\
                 <ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>\
                 <ofd:Pages>{page_list}</ofd:Pages></ofd:Document>",
                self.last_id
            )
            .into_bytes(),
        );
        package.put(
            "Doc_0/PublicRes.xml",
            format!(
                "{HEADER}<ofd:Res xmlns:ofd=\"{NAMESPACE}\" BaseLoc=\"Res\"><ofd:Fonts>\
                 <ofd:Font ID=\"{FONT_ID}\" FontName=\"{FONT}\" FamilyName=\"{FONT}\"/>\
                 </ofd:Fonts></ofd:Res>"
            )
            .into_bytes(),
        );
        for (name, content) in contents {
            package.put(name, content.into_bytes());
        }
        package
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_written_document_reads_back_with_its_pages() {
        let mut writer = Writer::new("证 & <test>", (210.0, 297.0));
        writer.text(20.0, 30.0, 9.0, "持证人 Holder");
        writer.rects(
            [10.0, 10.0, 20.0, 20.0],
            &[[0.0, 0.0, 2.0, 2.0]],
            Paint::Fill([0, 0, 0]),
        );
        writer.page();
        writer.rects(
            [5.0, 5.0, 200.0, 287.0],
            &[[0.0, 0.0, 200.0, 287.0]],
            Paint::Stroke([140, 26, 26], 0.7),
        );
        let package = writer.finish("abc", "2026-12-03");
        let read = structure::read(&package).unwrap();
        assert_eq!(read.document, "Doc_0/Document.xml");
        assert_eq!(read.pages.len(), 2);
        assert_eq!(read.pages[1].size, (210.0, 297.0));
        assert!(read.signatures.is_none());
        let first = std::str::from_utf8(package.get(&read.pages[0].content).unwrap()).unwrap();
        assert!(
            first.contains("DeltaX=\"9 9 9 4.5 4.5 4.5 4.5 4.5 4.5\""),
            "{first}"
        );
        let entry = std::str::from_utf8(package.get("OFD.xml").unwrap()).unwrap();
        assert!(entry.contains("证 &amp; &lt;test&gt;"));
    }
}
