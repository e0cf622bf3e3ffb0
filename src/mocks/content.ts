// The fixed sample content of the mock services: mailboxes, sites and drives of `contoso` and
// `fabrikam`. Every mock instance starts from a copy of this; nothing here is ever changed.
import { LARGE_FILE_SIZE } from './bytes.js'

/** The bytes of a small sample: literal text, or `size` deterministic sample bytes. */
export type SmallBody =
  | { kind: 'text', text: string }
  | { kind: 'sample', size: number }

/** A file may also be `size` pattern bytes streamed on the fly (the large files). */
export type SampleBody = SmallBody | { kind: 'pattern', size: number }

export interface SampleAttachment {
  id: string
  name: string
  contentType: string
  body: SmallBody
}

export interface SampleMessage {
  id: string
  subject: string
  from: string
  to: string[]
  body: string
  receivedAt: string
  isRead: boolean
  attachments: SampleAttachment[]
}

export interface SampleMailbox {
  upn: string
  displayName: string
  messages: SampleMessage[]
}

export interface SampleFile {
  /** Relative to its site or drive; segments separated by `/`, not encoded. */
  path: string
  contentType: string
  body: SampleBody
}

export interface SampleSite {
  id: string
  name: string
  files: SampleFile[]
}

export interface SampleDrive {
  upn: string
  items: SampleFile[]
}

export interface SampleTenant {
  mailboxes: SampleMailbox[]
  sites: SampleSite[]
  drives: SampleDrive[]
}

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
const PPTX = 'application/vnd.openxmlformats-officedocument.presentationml.presentation'
const PDF = 'application/pdf'
const PNG = 'image/png'
const TEXT = 'text/plain; charset=utf-8'
const CSV = 'text/csv; charset=utf-8'
const ZIP = 'application/zip'
const MP4 = 'video/mp4'

const text = (value: string): SmallBody => ({ kind: 'text', text: value })
const sample = (size: number): SmallBody => ({ kind: 'sample', size })
const large: SampleBody = { kind: 'pattern', size: LARGE_FILE_SIZE }

const contoso: SampleTenant = {
  mailboxes: [
    {
      upn: 'alice@contoso.com',
      displayName: 'Alice Johnson',
      messages: [
        {
          id: 'AAMk-alice-0001',
          subject: 'Q3 report draft for review',
          from: 'bob@contoso.com',
          to: ['alice@contoso.com'],
          body: 'Hi Alice,\n\nThe Q3 report draft is attached. Numbers for EMEA are still provisional.\n\nBob',
          receivedAt: '2024-09-30T08:12:44.000Z',
          isRead: false,
          attachments: [
            { id: 'att-1', name: 'Q3 report draft.docx', contentType: DOCX, body: sample(24_576) },
            { id: 'att-2', name: 'EMEA figures.xlsx', contentType: XLSX, body: sample(9_830) }
          ]
        },
        {
          id: 'AAMk-alice-0002',
          subject: 'Inbox rule keeps moving invoices',
          from: 'megan@contoso.com',
          to: ['alice@contoso.com', 'bob@contoso.com'],
          body: 'Since Monday every invoice lands in Archive, even from new suppliers. Can you check the rule?',
          receivedAt: '2024-10-01T13:05:10.000Z',
          isRead: true,
          attachments: [
            { id: 'att-1', name: 'rule-export.txt', contentType: TEXT, body: text('Rule: Move invoices\nCondition: subject contains "invoice"\nAction: move to Archive\n') }
          ]
        },
        {
          id: 'AAMk-alice-0003',
          subject: 'Lunch on Friday?',
          from: 'bob@contoso.com',
          to: ['alice@contoso.com'],
          body: 'The new place on 5th street, 12:30?',
          receivedAt: '2024-10-02T09:41:02.000Z',
          isRead: false,
          attachments: []
        }
      ]
    },
    {
      upn: 'bob@contoso.com',
      displayName: 'Bob Kelly',
      messages: [
        {
          id: 'AAMk-bob-0001',
          subject: 'Supplier onboarding checklist',
          from: 'megan@contoso.com',
          to: ['bob@contoso.com'],
          body: 'Please complete the attached checklist before the audit.',
          receivedAt: '2024-09-27T15:20:00.000Z',
          isRead: true,
          attachments: [
            { id: 'att-1', name: 'checklist.pdf', contentType: PDF, body: sample(41_200) }
          ]
        },
        {
          id: 'AAMk-bob-0002',
          subject: 'Re: Q3 report draft for review',
          from: 'alice@contoso.com',
          to: ['bob@contoso.com'],
          body: 'Thanks Bob, comments inline. The chart on page 4 needs the new colours.',
          receivedAt: '2024-09-30T11:02:31.000Z',
          isRead: false,
          attachments: [
            { id: 'att-1', name: 'page-4-chart.png', contentType: PNG, body: sample(6_144) },
            { id: 'att-2', name: 'comments.txt', contentType: TEXT, body: text('p.2: use FY24 baseline\np.4: new palette\n') }
          ]
        },
        {
          id: 'AAMk-bob-0003',
          subject: 'Your password expires in 5 days',
          from: 'it-helpdesk@contoso.com',
          to: ['bob@contoso.com'],
          body: 'Change it at https://aka.ms/sspr before it expires.',
          receivedAt: '2024-10-03T06:00:00.000Z',
          isRead: false,
          attachments: []
        }
      ]
    },
    {
      upn: 'megan@contoso.com',
      displayName: 'Megan Bowen',
      messages: [
        {
          id: 'AAMk-megan-0001',
          subject: 'Board deck v2',
          from: 'alice@contoso.com',
          to: ['megan@contoso.com'],
          body: 'Updated deck attached, incorporating legal feedback.',
          receivedAt: '2024-10-04T17:45:12.000Z',
          isRead: true,
          attachments: [
            { id: 'att-1', name: 'Board deck v2.pptx', contentType: PPTX, body: sample(65_536) }
          ]
        },
        {
          id: 'AAMk-megan-0002',
          subject: 'Travel approval',
          from: 'bob@contoso.com',
          to: ['megan@contoso.com'],
          body: 'Requesting approval for the Lisbon trade fair, 14–16 November.',
          receivedAt: '2024-10-05T08:30:00.000Z',
          isRead: false,
          attachments: [
            { id: 'att-1', name: 'itinerary.csv', contentType: CSV, body: text('date,from,to\n2024-11-14,SEA,LIS\n2024-11-16,LIS,SEA\n') }
          ]
        }
      ]
    }
  ],
  sites: [
    {
      id: 'finance',
      name: 'Finance',
      files: [
        { path: 'Shared Documents/Q3 report.docx', contentType: DOCX, body: sample(24_576) },
        { path: 'Shared Documents/Budgets/FY25 budget.xlsx', contentType: XLSX, body: sample(18_432) },
        { path: 'Shared Documents/Archive/Project Phoenix assets.zip', contentType: ZIP, body: large },
        { path: 'Shared Documents/README.txt', contentType: TEXT, body: text('Finance team site. Ask #finance-ops before moving files.\n') }
      ]
    },
    {
      id: 'hr',
      name: 'Human Resources',
      files: [
        { path: 'Policies/Leave policy 2024.pdf', contentType: PDF, body: sample(52_000) },
        { path: 'Policies/Code of conduct.pdf', contentType: PDF, body: sample(33_333) }
      ]
    }
  ],
  drives: [
    {
      upn: 'alice@contoso.com',
      items: [
        { path: 'Documents/Notes.txt', contentType: TEXT, body: text('- call Fabrikam about the renewal\n- Q3 numbers by Friday\n') },
        { path: 'Documents/Résumé draft.docx', contentType: DOCX, body: sample(12_800) },
        { path: 'Videos/Team offsite.mp4', contentType: MP4, body: large }
      ]
    },
    {
      upn: 'bob@contoso.com',
      items: [
        { path: 'Documents/Expenses September.xlsx', contentType: XLSX, body: sample(8_704) }
      ]
    }
  ]
}

const fabrikam: SampleTenant = {
  mailboxes: [
    {
      upn: 'adele@fabrikam.com',
      displayName: 'Adele Vance',
      messages: [
        {
          id: 'AAMk-adele-0001',
          subject: 'Renewal quote from Contoso',
          from: 'alice@contoso.com',
          to: ['adele@fabrikam.com'],
          body: 'Dear Adele, please find our renewal quote attached. It is valid until 31 October.',
          receivedAt: '2024-10-02T10:00:00.000Z',
          isRead: true,
          attachments: [
            { id: 'att-1', name: 'Quote 2024-118.pdf', contentType: PDF, body: sample(27_100) }
          ]
        },
        {
          id: 'AAMk-adele-0002',
          subject: 'Build pipeline red since last night',
          from: 'grady@fabrikam.com',
          to: ['adele@fabrikam.com'],
          body: 'The integration tests time out on the new runners. Log excerpt attached.',
          receivedAt: '2024-10-03T07:12:09.000Z',
          isRead: false,
          attachments: [
            { id: 'att-1', name: 'build-log.txt', contentType: TEXT, body: text('step 14/20: integration\nERROR timeout after 600s\n') }
          ]
        },
        {
          id: 'AAMk-adele-0003',
          subject: 'Team photo',
          from: 'grady@fabrikam.com',
          to: ['adele@fabrikam.com'],
          body: 'From the offsite, as promised.',
          receivedAt: '2024-10-04T16:20:00.000Z',
          isRead: false,
          attachments: [
            { id: 'att-1', name: 'team.png', contentType: PNG, body: sample(14_000) }
          ]
        }
      ]
    },
    {
      upn: 'grady@fabrikam.com',
      displayName: 'Grady Archie',
      messages: [
        {
          id: 'AAMk-grady-0001',
          subject: 'Re: Build pipeline red since last night',
          from: 'adele@fabrikam.com',
          to: ['grady@fabrikam.com'],
          body: 'Raised the timeout to 900s, please re-run.',
          receivedAt: '2024-10-03T08:01:44.000Z',
          isRead: true,
          attachments: []
        },
        {
          id: 'AAMk-grady-0002',
          subject: 'Security training due',
          from: 'security@fabrikam.com',
          to: ['grady@fabrikam.com'],
          body: 'Your annual security awareness training is due on 15 October.',
          receivedAt: '2024-10-05T09:00:00.000Z',
          isRead: false,
          attachments: [
            { id: 'att-1', name: 'training-guide.pdf', contentType: PDF, body: sample(19_999) }
          ]
        }
      ]
    }
  ],
  sites: [
    {
      id: 'engineering',
      name: 'Engineering',
      files: [
        { path: 'Design/Architecture overview.docx', contentType: DOCX, body: sample(30_720) },
        { path: 'Design/Diagrams/data-flow.png', contentType: PNG, body: sample(11_264) },
        { path: 'Runbooks/on-call.txt', contentType: TEXT, body: text('1. Check the dashboard\n2. Page the secondary after 15 minutes\n') }
      ]
    }
  ],
  drives: [
    {
      upn: 'adele@fabrikam.com',
      items: [
        { path: 'Documents/Renewal comparison.xlsx', contentType: XLSX, body: sample(15_360) }
      ]
    },
    {
      upn: 'grady@fabrikam.com',
      items: [
        { path: 'Documents/todo.txt', contentType: TEXT, body: text('fix flaky runner\nreview PR 4711\n') }
      ]
    }
  ]
}

/** The sample content by tenant id. Any other tenant is unknown to the mocks (404). */
export const SAMPLE_CONTENT: Readonly<Record<string, SampleTenant>> = { contoso, fabrikam }
